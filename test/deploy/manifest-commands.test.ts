/**
 * The manifests' command lines run the real CLI: the Deployment's container args and environment
 * (with the kubelet's `$(VAR)` expansion and fieldRefs filled in) start a waypoint that answers the
 * manifest's startup/readiness probe and scrape annotation, and on SIGTERM (what the kubelet sends
 * after preStop) it drains and exits within the grace period the manifest leaves it. The same for
 * the ztunnel DaemonSet. Certificates come from the CA the manifests name (`CA_ADDRESS`, Istio's
 * variable), played by a fake Istio CA on loopback with its root and token files standing in for the
 * mounted ones (identities are issued on first use, so the probes need no certificate yet). The
 * waypoint's config comes from a fake Kubernetes API serving the base's own Gateway (`--kube`, with
 * a kubeconfig standing in for the in-cluster credentials) and it binds the pod IP it is given
 * (`--bind instance-ip`); the ztunnel's still comes from the local mesh's directory (relocated).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { FakeCa } from '../helpers/fake-ca.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { KUBE_RESOURCES } from '../../src/sources/kube-resources.js';
import { relocatedConfig, REPO_ROOT, type RelocatedConfig } from '../helpers/relocated-config.js';
import { KUBE_DIR, one, plainKustomization } from './manifests.js';
import { expandArgs, kubeletEnv, specOf, type Container, type PodTemplate, type WorkloadSpec } from './workload-shapes.js';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

function status(host: string, port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get({ host, port, path: p, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(0));
  });
}

interface Running {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code and how long the process took to exit after `kill`. */
  terminate(): Promise<{ code: number | null; ms: number }>;
}

/** Starts a container of a pod template as the kubelet would, with the fieldRefs given. */
function runContainer(pod: PodTemplate, fields: Readonly<Record<string, string>>, overrides: Readonly<Record<string, string>>, extraArgs: readonly string[]): Running {
  const c = pod.spec.containers[0] as Container;
  const env = { ...kubeletEnv(c, fields), ...overrides };
  const args = [...expandArgs(c.args ?? [], env), ...extraArgs];
  assert.ok(!args.some((a) => a.includes('$(')), `unexpanded reference in ${args.join(' ')}`);
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    terminate: async () => {
      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      return { code, ms: Date.now() - t0 };
    },
  };
}

describe('the manifests\' command lines run the real CLI', () => {
  const block = allocateBlock();
  let config: RelocatedConfig;
  let state: string;
  let ca: FakeCa;
  /** Env the kubelet would not set but the test must: the CA's address, root and the token file. */
  let caEnv: Record<string, string>;
  let caArgs: string[];
  const started: Running[] = [];
  const apis: FakeKubeApi[] = [];

  before(async () => {
    config = relocatedConfig(block);
    state = mkdtempSync(path.join(os.tmpdir(), 'ambient-deploy-state-'));
    ca = await FakeCa.start('deploy-test-token');
    writeFileSync(path.join(state, 'root-cert.pem'), ca.rootPem);
    writeFileSync(path.join(state, 'istio-token'), 'deploy-test-token');
    caEnv = { CA_ADDRESS: ca.address, CA_ROOT_CA: path.join(state, 'root-cert.pem') };
    caArgs = ['--token-file', path.join(state, 'istio-token')];
  });

  after(async () => {
    for (const r of started) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    for (const a of apis) await a.close();
    ca?.close();
    config?.remove();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('the waypoint Deployment: config from the Kubernetes API, bound to the pod IP; probe and scrape answer, SIGTERM drains within the grace period', async () => {
    const objects = plainKustomization(path.join(KUBE_DIR, 'base'));
    const pod = specOf<WorkloadSpec>(one(objects, 'Deployment')).template;
    const c = pod.spec.containers[0] as Container;
    // The API server holds the base's own Gateway (a Hostname address) and Namespace; the kubeconfig
    // stands in for the in-cluster service-account credentials (KUBECONFIG wins in client-node's order).
    const api = await FakeKubeApi.start(KUBE_RESOURCES.map((r) => r.path));
    apis.push(api);
    api.set('/apis/gateway.networking.k8s.io/v1/gateways', one(objects, 'Gateway'));
    api.set('/api/v1/namespaces', one(objects, 'Namespace'));
    const kubeconfig = api.writeKubeconfig(state);
    const fields = { 'metadata.name': 'waypoint-0', 'metadata.namespace': 'default', 'status.podIP': block.waypoint(1), 'spec.serviceAccountName': 'waypoint' };
    // The state directory is an emptyDir in the pod; here a temp directory. The admin API (127.0.0.1
    // in the pod) moves to the test's own address block so parallel tests never share a port.
    const wp = runContainer(pod, fields, { AMBIENT_STATE_DIR: state, KUBECONFIG: kubeconfig, ...caEnv }, ['--admin-address', block.waypoint(1), '--quiet', ...caArgs]);
    started.push(wp);
    const host = block.waypoint(1);
    const probe = c.readinessProbe?.httpGet;
    await eventually(async () => assert.equal(await status(host, Number(probe?.port), probe?.path ?? ''), 200, wp.output()), 30_000, 100);
    const scrapePort = Number(pod.metadata.annotations?.['prometheus.io/port']);
    assert.equal(await status(host, scrapePort, pod.metadata.annotations?.['prometheus.io/path'] ?? ''), 200);
    assert.match(wp.output(), /config from files \+ kube http:\/\/127\.0\.0\.1:\d+/);
    assert.match(wp.output(), new RegExp(`ready on ${block.waypoint(1).replace(/\./g, '\\.')}:15008 \\(--bind instance-ip; Gateway addresses waypoint\\.default\\.svc\\.cluster\\.local\\)`));
    // Scoped to the waypoint's namespace (and the root namespace), with the kubeconfig's token.
    assert.ok(api.requests.some((r) => r.url.startsWith('/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways') && r.authorization === 'Bearer fake-token'));

    const preStop = Number(c.lifecycle?.preStop?.exec?.command?.[1]);
    const budgetMs = ((pod.spec.terminationGracePeriodSeconds ?? 30) - preStop) * 1000;
    const { code, ms } = await wp.terminate();
    assert.equal(code, 0, wp.output());
    assert.ok(ms < budgetMs, `exited ${ms} ms after SIGTERM; the manifest leaves ${budgetMs} ms`);
  });

  it('the ztunnel DaemonSet: probe answers on the node address, SIGTERM exits within the grace period', async () => {
    const objects = plainKustomization(path.join(KUBE_DIR, 'ztunnel'));
    const pod = specOf<WorkloadSpec>(one(objects, 'DaemonSet')).template;
    const c = pod.spec.containers[0] as Container;
    const node = block.node(1);
    const fields = { 'spec.nodeName': 'node-a', 'status.podIP': node };
    const zt = runContainer(pod, fields, { AMBIENT_STATE_DIR: state, ...caEnv }, ['--config', config.dir, '--quiet', ...caArgs]);
    started.push(zt);
    const probe = c.readinessProbe?.httpGet;
    await eventually(async () => assert.equal(await status(node, Number(probe?.port), probe?.path ?? ''), 200, zt.output()), 30_000, 100);
    assert.equal(await status(node, Number(pod.metadata.annotations?.['prometheus.io/port']), pod.metadata.annotations?.['prometheus.io/path'] ?? ''), 200);
    const { code, ms } = await zt.terminate();
    assert.equal(code, 0, zt.output());
    assert.ok(ms < (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000, `exited ${ms} ms after SIGTERM`);
  });
});
