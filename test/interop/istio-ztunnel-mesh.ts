/**
 * The interop test's mesh: `ambient up --istio-ztunnel $ISTIO_ZTUNNEL_BIN` in a network namespace
 * of its own (`unshare -n`), and ways to act from inside it: run the pod client in a pod's
 * namespace, `ambient curl` from a pod our ztunnel serves, find a role's pid.
 *
 * Layout (one address block): node-a and node-b run Istio's ztunnel (one per pod), node-c ours.
 * - node-a (Istio): `sleep` (default), `notsleep` (other) — clients;
 * - node-b (Istio): `reviews-v1` (echo :9080), `tcp-echo` (raw echo :9000);
 * - node-c (ours): `ratings-v1` (echo :9080), `local-client` (default) — a client of ours;
 * - waypoint `waypoint`; Services `reviews`, `reviews-h2` (the same pods, port named http2) and
 *   `tcp-echo` use it, `ratings` does not;
 * - L4 policies: `reviews` admits only the waypoint's identity; `tcp-echo` only namespace default,
 *   and not `sleep` on its second port 9001;
 * - L7 policies at the waypoint for `reviews`: ALLOW only `sleep` and `local-client`; DENY `sleep`
 *   on `/l7-denied`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { podNetnsName } from '../../src/runner/pod-netns.js';
import type { AddressBlock } from '../helpers/addresses.js';

const run = promisify(execFile);
const DIST = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(DIST, 'src', 'cli.js');
const POD_CLIENT = path.join(DIST, 'test', 'interop', 'pod-client.js');

export interface PodClientResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly grpcStatus?: string;
  readonly body?: string;
  readonly error?: string;
  /** Bulk modes: what the client sent and what came back (pod-client-bulk.ts). */
  readonly sent?: { readonly bytes: number; readonly sha256: string };
  readonly got?: { readonly bytes: number; readonly sha256: string };
  /** `h2trailers`: response trailers received, and the echo's report (request trailers it saw). */
  readonly trailers?: Record<string, string>;
  readonly report?: { readonly trailers?: Record<string, string>; readonly peer?: { readonly identity?: string } };
}

function pod(name: string, ns: string, node: string, ip: string, sa: string, labels: Record<string, string>, ports: readonly { name: string; port: number }[]): string {
  const image = ports.length > 0 ? 'echo' : 'curl';
  const portYaml = ports.map((p) => `\n        - name: ${p.name}\n          containerPort: ${p.port}`).join('');
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${ns}
  labels: ${JSON.stringify(labels)}
spec:
  nodeName: ${node}
  serviceAccountName: ${sa}
  containers:
    - name: main
      image: ${image}${ports.length > 0 ? `\n      ports:${portYaml}` : ''}
status:
  podIP: ${ip}
`;
}

function service(name: string, vip: string, port: number, portName: string, waypoint: boolean, selector = name): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
  labels: ${waypoint ? '{"istio.io/use-waypoint": "waypoint"}' : '{}'}
spec:
  clusterIP: ${vip}
  selector: {app: ${selector}}
  ports:
    - name: ${portName}
      port: ${port}
      targetPort: ${port}
`;
}

export function meshYaml(b: AddressBlock): string {
  return [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}\n`,
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: other, labels: {istio.io/dataplane-mode: ambient}}\n`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: ${b.waypoint(1)}}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`,
    pod('sleep', 'default', 'node-a', b.pod(1), 'sleep', { app: 'sleep' }, []),
    pod('notsleep', 'other', 'node-a', b.pod(2), 'notsleep', { app: 'notsleep' }, []),
    pod('reviews-v1', 'default', 'node-b', b.pod(3), 'bookinfo-reviews', { app: 'reviews', version: 'v1' }, [{ name: 'http', port: 9080 }]),
    pod('tcp-echo', 'default', 'node-b', b.pod(4), 'tcp-echo', { app: 'tcp-echo' }, [{ name: 'tcp-echo', port: 9000 }, { name: 'tcp-echo-alt', port: 9001 }]),
    pod('ratings-v1', 'default', 'node-c', b.pod(5), 'bookinfo-ratings', { app: 'ratings' }, [{ name: 'http', port: 9080 }]),
    pod('local-client', 'default', 'node-c', b.pod(6), 'local-client', { app: 'local-client' }, []),
    service('reviews', b.vip(1), 9080, 'http', true),
    service('tcp-echo', b.vip(2), 9000, 'tcp-echo', true),
    service('ratings', b.vip(3), 9080, 'http', false),
    // The same reviews pods, declared HTTP/2 (port name `http2`): the waypoint speaks h2c prior knowledge upstream.
    service('reviews-h2', b.vip(4), 9080, 'http2', true, 'reviews'),
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-only-waypoint, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/waypoint"]}}]}]
`,
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tcp-echo-from-default, namespace: default}
spec:
  selector: {matchLabels: {app: tcp-echo}}
  action: ALLOW
  rules: [{from: [{source: {namespaces: ["default"]}}]}]
`,
    // L4, at Istio's ztunnel: a DENY by principal and port (sleep may use 9000, not 9001).
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tcp-echo-deny-sleep-alt-port, namespace: default}
spec:
  selector: {matchLabels: {app: tcp-echo}}
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]}}], to: [{operation: {ports: ["9001"]}}]}]
`,
    // L7, at our waypoint, on the principal Istio's ztunnel presented: notsleep is not allowed;
    // sleep is, except on /l7-denied (a DENY with a principal and a path).
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-l7-allow, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: ALLOW
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep", "cluster.local/ns/default/sa/local-client"]}}]}]
`,
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-l7-deny, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]}}], to: [{operation: {paths: ["/l7-denied"]}}]}]
`,
  ].join('---\n');
}

export class IstioZtunnelMesh {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  /** Everything `ambient up` printed so far (its children's lines are prefixed `[role/name]`). */
  get log(): string {
    return this.output;
  }

  static async start(binary: string, b: AddressBlock, nodeSubnet: string, env: Readonly<Record<string, string>> = {}): Promise<IstioZtunnelMesh> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'istio-ztunnel-interop-'));
    await writeFile(path.join(dir, 'mesh.yaml'), meshYaml(b));
    const child = spawn('unshare', ['-n', process.execPath, CLI, 'up', '--config', dir, '--state', path.join(dir, 'state'), '--node-subnet', nodeSubnet, '--istio-ztunnel', binary, '--istio-ztunnel-nodes', 'node-a,node-b', '--drain-ms', '3000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const mesh = new IstioZtunnelMesh(child, dir);
    const deadline = Date.now() + 90_000;
    while (!mesh.output.includes('ambient mesh is up')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await mesh.close();
        throw new Error(`ambient up did not come up:\n${mesh.output.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return mesh;
  }

  private nsenter(): string[] {
    return ['nsenter', `--net=/proc/${this.child.pid ?? 0}/ns/net`];
  }

  /** The pod client in a pod's own namespace (a pod served by Istio's ztunnel). */
  async fromIstioPod(namespace: string, name: string, args: readonly string[], timeoutMs = 30_000): Promise<PodClientResult> {
    const [cmd = '', ...rest] = [...this.nsenter(), 'ip', 'netns', 'exec', podNetnsName(path.join(this.dir, 'state'), namespace, name), process.execPath, POD_CLIENT, ...args];
    const { stdout } = await run(cmd, rest, { timeout: timeoutMs });
    return JSON.parse(stdout) as PodClientResult;
  }

  /** `ambient curl --from POD` inside the mesh's namespace (a pod served by our ztunnel). */
  async curlFromOurPod(from: string, url: string): Promise<{ status: number; body: string }> {
    const [cmd = '', ...rest] = [...this.nsenter(), process.execPath, CLI, 'curl', '--config', this.dir, '--from', from, '-i', url];
    const { stdout } = await run(cmd, rest, { timeout: 30_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(stdout)?.[1] ?? 0);
    return { status, body: stdout.slice(stdout.indexOf('\r\n\r\n') + 4 || stdout.indexOf('\n\n') + 2) };
  }

  /** Requests the waypoint has open upstream (`rq_active` of its admin `/clusters`). */
  async waypointActiveRequests(adminIp: string): Promise<number> {
    const [cmd = '', ...rest] = [...this.nsenter(), 'curl', '-s', `http://${adminIp}:15000/clusters`];
    const { stdout } = await run(cmd, rest);
    return [...stdout.matchAll(/::rq_active::(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  }

  /** Pid of the process listening on `ip:port` in the mesh's namespace. */
  async pidListeningOn(ip: string, port: number): Promise<number | undefined> {
    const [cmd = '', ...rest] = [...this.nsenter(), 'ss', '-Htlnp', `src ${ip}:${port}`];
    const { stdout } = await run(cmd, rest);
    const m = /pid=(\d+)/.exec(stdout);
    return m ? Number(m[1]) : undefined;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const force = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(force);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
