/**
 * The manifests agree with what the code serves and expects: ports from src/ztunnel/ports.ts and
 * src/admin/prometheus-server.ts, the readiness and scrape paths answered by the real servers, the
 * drain default of src/commands/defaults.ts, and labels and names that tie the objects together
 * (selectors, the Gateway, the namespace label, the identity, RBAC). Checked on the base, and on
 * the production overlay and the chart's renders when kubectl / helm are present.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { PrometheusServer, MERGED_METRICS_PORT } from '../../src/admin/prometheus-server.js';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { DEFAULT_DRAIN_MS } from '../../src/commands/defaults.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { ADMIN_PORT, HBONE_PORT, METRICS_PORT, READINESS_PORT } from '../../src/ztunnel/ports.js';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { findHelm, findKustomize } from './deploy-tools.js';
import { byKey, CHART_DIR, helmTemplate, KUBE_DIR, kustomizeBuild, one, plainKustomization, type K8sObject } from './manifests.js';
import { gatewayRef, parseWaypointArgs, waypointBind } from '../../src/commands/waypoint-options.js';
import { ZTUNNEL_OPTIONS } from '../../src/commands/ztunnel.js';
import { KUBE_RESOURCES } from '../../src/sources/kube-resources.js';
import { DATA_PLANE_NODE_FLAGS } from '../../src/runner/role-node-flags.js';
import { parseArgs } from 'node:util';
import { argValue, expandArgs, kubeletEnv, mebibytes, specOf, type Container, type GatewaySpec, type PodTemplate, type RoleRule, type ServiceSpec, type WorkloadSpec } from './workload-shapes.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What the Kubernetes watch reads (the code's own list), by API group and resource. */
const WATCHED: readonly (readonly [string, string])[] = KUBE_RESOURCES.map((r) => [r.apiVersion.includes('/') ? (r.apiVersion.split('/')[0] ?? '') : '', r.path.split('/').pop() ?? '']);

function includesAll(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function get(host: string, port: number, p: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: p }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

function portOf(c: Container, name: string): number | undefined {
  return c.ports?.find((p) => p.name === name)?.containerPort;
}

/** The checks that do not need a server, on one rendered install of the waypoint. */
function checkWaypointInstall(objects: readonly K8sObject[], what: string): void {
  const deployment = one(objects, 'Deployment');
  const ns = deployment.metadata.namespace ?? '';
  const gateway = one(objects, 'Gateway');
  const gw = specOf<GatewaySpec>(gateway);
  const spec = specOf<WorkloadSpec>(deployment);
  const pod: PodTemplate = spec.template;
  const c = pod.spec.containers[0] as Container;
  const labels = pod.metadata.labels;
  const m = `${what}:`;

  // Ports: the code's numbers, under the names the Service targets.
  assert.equal(portOf(c, 'mesh'), HBONE_PORT, `${m} HBONE port`);
  assert.equal(portOf(c, 'status-port'), READINESS_PORT, `${m} readiness port`);
  assert.equal(portOf(c, 'metrics'), METRICS_PORT, `${m} metrics port`);
  assert.equal(METRICS_PORT, MERGED_METRICS_PORT);
  assert.ok(!c.ports?.some((p) => p.containerPort === ADMIN_PORT), `${m} the admin port stays private`);
  const service = one(objects, 'Service', gateway.metadata.name);
  const svc = specOf<ServiceSpec>(service);
  assert.deepEqual(
    svc.ports.map((p) => [p.port, typeof p.targetPort === 'string' ? portOf(c, p.targetPort) : p.targetPort]).sort(),
    [
      [HBONE_PORT, HBONE_PORT],
      [METRICS_PORT, METRICS_PORT],
      [READINESS_PORT, READINESS_PORT],
    ].sort(),
    `${m} Service ports reach the container's`,
  );
  assert.ok(!svc.ports.some((p) => p.port === ADMIN_PORT));

  // Probes and scrape annotations point at the readiness and metrics ports.
  for (const probe of [c.startupProbe, c.readinessProbe]) assert.equal(probe?.httpGet?.port, READINESS_PORT, `${m} probe port`);
  assert.equal(pod.metadata.annotations?.['prometheus.io/port'], String(METRICS_PORT));
  assert.equal(pod.metadata.annotations?.['prometheus.io/scrape'], 'true');

  // The command line: the waypoint of this Gateway, draining as long as the grace period allows.
  const args = c.args ?? [];
  assert.equal(args[0], 'waypoint');
  assert.equal(argValue(args, '--gateway'), `$(POD_NAMESPACE)/${gateway.metadata.name}`);
  assert.ok(c.env?.some((e) => e.name === 'POD_NAMESPACE' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace'));
  assert.ok(c.env?.some((e) => e.name === 'INSTANCE_IP' && e.valueFrom?.fieldRef?.fieldPath === 'status.podIP'), `${m} INSTANCE_IP from the downward API`);
  // The CLI accepts these args and env: parsed by its own option table (strict), resolved as at start.
  const env = kubeletEnv(c, { 'metadata.name': 'waypoint-0', 'metadata.namespace': ns, 'status.podIP': '127.1.244.7', 'spec.serviceAccountName': pod.spec.serviceAccountName ?? '' });
  const values = parseWaypointArgs(expandArgs(args, env).slice(1));
  assert.deepEqual(gatewayRef(values, env), { namespace: ns, name: gateway.metadata.name }, `${m} serves its Gateway`);
  assert.deepEqual(waypointBind(values.bind, values['admin-address'], env), { kind: 'addresses', addresses: ['127.1.244.7'], adminHost: '127.0.0.1' }, `${m} listens on the pod IP`);
  assert.ok(values.kube === true || env['XDS_ADDRESS'] !== undefined, `${m} a cluster config source is selected`);
  assert.equal(values.config, undefined, `${m} no files directory in a cluster`);
  const drainMs = Number(argValue(args, '--drain-ms'));
  assert.ok(Number.isFinite(drainMs) && drainMs > 0, `${m} --drain-ms`);
  const preStop = c.lifecycle?.preStop?.exec?.command ?? [];
  assert.equal(preStop[0], 'sleep', `${m} preStop waits for endpoints to update`);
  const preStopSeconds = Number(preStop[1]);
  const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
  assert.ok(grace >= preStopSeconds + drainMs / 1000 + 1, `${m} grace ${grace}s covers preStop ${preStopSeconds}s + drain ${drainMs}ms`);

  // Rolling without losing capacity; the PDB lets a node drain proceed.
  assert.equal(spec.strategy?.rollingUpdate?.maxUnavailable, 0);
  const replicas = spec.replicas ?? 1;
  assert.ok(replicas >= 2, `${m} at least 2 replicas`);
  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget');
  if (pdb) {
    const p = specOf<{ minAvailable: number; selector: { matchLabels: Record<string, string> } }>(pdb);
    assert.ok(p.minAvailable < replicas, `${m} PDB minAvailable < replicas`);
    assert.ok(includesAll(labels, p.selector.matchLabels), `${m} PDB selects the pods`);
  }
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler');
  if (hpa) {
    const h = specOf<{ scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number }>(hpa);
    assert.deepEqual([h.scaleTargetRef.kind, h.scaleTargetRef.name], ['Deployment', deployment.metadata.name]);
    assert.ok(h.minReplicas <= replicas && replicas <= h.maxReplicas, `${m} HPA range holds the replicas`);
  }

  // Labels tie the objects together.
  assert.ok(includesAll(labels, spec.selector.matchLabels), `${m} Deployment selector`);
  assert.ok(includesAll(labels, svc.selector), `${m} Service selector`);
  for (const t of pod.spec.topologySpreadConstraints ?? []) assert.ok(includesAll(labels, t.labelSelector?.matchLabels), `${m} spread over ${t.topologyKey}`);
  assert.ok((pod.spec.topologySpreadConstraints ?? []).some((t) => t.topologyKey === 'kubernetes.io/hostname'));
  assert.equal(labels['istio.io/dataplane-mode'], 'none', `${m} ztunnel must not capture the waypoint`);

  // The waypoint Gateway, its address (this Service) and the namespace enrolment.
  assert.equal(gw.gatewayClassName, 'istio-waypoint');
  assert.deepEqual(gw.listeners, [{ name: 'mesh', port: HBONE_PORT, protocol: 'HBONE' }]);
  assert.deepEqual(gw.addresses, [{ type: 'Hostname', value: `${service.metadata.name}.${ns}.svc.cluster.local` }], `${m} Gateway address`);
  const namespace = objects.find((o) => o.kind === 'Namespace');
  if (namespace) {
    assert.equal(namespace.metadata.name, ns);
    // The namespace uses this waypoint, as its primary or (the canary overlay) as its canary.
    const canary = namespace.metadata.labels?.['istio.io/use-waypoint-canary'];
    assert.equal(canary ?? namespace.metadata.labels?.['istio.io/use-waypoint'], gateway.metadata.name);
    assert.equal(namespace.metadata.labels?.['istio.io/dataplane-mode'], 'ambient');
  }
  assert.equal(service.metadata.labels?.['istio.io/use-waypoint'], 'none', `${m} the waypoint's own Service skips waypoints`);

  // Identity: the ServiceAccount is named after the Gateway, as the local mesh and istiod expect.
  const sa = one(objects, 'ServiceAccount');
  assert.equal(sa.metadata.name, gateway.metadata.name);
  assert.equal(pod.spec.serviceAccountName, sa.metadata.name);

  // RBAC: read-only, bound to that ServiceAccount, covering every watched kind.
  const binding = one(objects, 'ClusterRoleBinding');
  const roleRef = binding['roleRef'] as { kind: string; name: string };
  const role = one(objects, 'ClusterRole', roleRef.name);
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: ns }]);
  const rules = role['rules'] as RoleRule[];
  for (const r of rules) assert.deepEqual(r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v)), [], `${m} read-only`);
  for (const [group, resource] of WATCHED) {
    assert.ok(
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes('list') && r.verbs.includes('watch')),
      `${m} may list and watch ${group || 'core'}/${resource}`,
    );
  }

  // Hardening, and the writable paths are volumes (the root filesystem is read-only).
  assert.equal(pod.spec.securityContext?.runAsNonRoot, true);
  assert.ok((pod.spec.securityContext?.runAsUser ?? 0) > 0);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(c.securityContext?.capabilities?.add, undefined);
  const mounts = new Set((c.volumeMounts ?? []).map((v) => v.mountPath));
  const stateDir = c.env?.find((e) => e.name === 'AMBIENT_STATE_DIR')?.value;
  assert.ok(stateDir && mounts.has(stateDir), `${m} the state directory is a volume`);
  assert.ok(mounts.has('/tmp'));

  // Resources, and a V8 heap cap below the memory limit.
  const limit = c.resources?.limits?.['memory'];
  assert.ok(limit && c.resources?.requests?.['memory'] && c.resources.requests['cpu'], `${m} requests and limits`);
  const heap = /--max-old-space-size=(\d+)/.exec(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '');
  assert.ok(heap && Number(heap[1]) < mebibytes(limit) * 0.9, `${m} heap ${heap?.[1]} MiB well below the ${limit} limit`);
  assertDataPlaneNodeFlags(c, m);
}

/** A container's NODE_OPTIONS replaces the image's, so it must carry the data-plane V8 flags too. */
function assertDataPlaneNodeFlags(c: Container, m: string): void {
  const options = (c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '').split(/\s+/);
  for (const f of DATA_PLANE_NODE_FLAGS) assert.ok(options.includes(f), `${m} NODE_OPTIONS carries ${f} (src/runner/role-node-flags.ts)`);
}

/** The waypoint container's args and env, resolved by the CLI's own parser. */
function checkWaypointInstallArgs(objects: readonly K8sObject[], want: { readonly xds?: string; readonly bind: readonly string[] }): void {
  const c = specOf<WorkloadSpec>(one(objects, 'Deployment')).template.spec.containers[0] as Container;
  const env = kubeletEnv(c, { 'metadata.name': 'w-0', 'metadata.namespace': 'team-a', 'status.podIP': '127.1.244.7', 'spec.serviceAccountName': 'waypoint' });
  const values = parseWaypointArgs(expandArgs(c.args ?? [], env).slice(1));
  const bind = waypointBind(values.bind, values['admin-address'], env);
  assert.deepEqual(bind.kind === 'addresses' ? bind.addresses : [], want.bind);
  assert.equal(env['XDS_ADDRESS'], want.xds);
  assert.equal(values.kube, true);
}

describe('deploy manifests agree with the code', () => {
  const base = plainKustomization(path.join(KUBE_DIR, 'base'));

  it('the base: ports, probes, drain, labels, identity, RBAC, hardening', () => {
    checkWaypointInstall(base, 'base');
    // The base carries the code's defaults.
    const c = specOf<WorkloadSpec>(one(base, 'Deployment')).template.spec.containers[0] as Container;
    assert.equal(Number(argValue(c.args ?? [], '--drain-ms')), DEFAULT_DRAIN_MS);
    assert.equal(c.image, `ambient-waypoint:${PACKAGE_VERSION}`);
    const chart = parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    assert.equal(chart.appVersion, PACKAGE_VERSION);
  });

  it('the overlays', async (t) => {
    const k = await findKustomize();
    if ('skip' in k) return t.skip(k.skip);
    for (const d of ['overlays/bookinfo', 'overlays/production', 'overlays/istiod-xds', 'overlays/waypoint-canary']) checkWaypointInstall(await kustomizeBuild(k.bin, path.join(KUBE_DIR, d)), d);
    // The xDS overlay equals the chart's switch.
    const h = await findHelm();
    if (!('skip' in h)) {
      const overlay = await kustomizeBuild(k.bin, path.join(KUBE_DIR, 'overlays', 'istiod-xds'));
      checkWaypointInstallArgs(overlay, { xds: 'istiod.istio-system.svc:15012', bind: ['127.1.244.7'] });
      assert.deepEqual(byKey(overlay), byKey(await helmTemplate(h.bin, 'default', ['controlPlane.xdsAddress=istiod.istio-system.svc:15012'])));
    }
  });

  it('the chart, with default and other values', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    checkWaypointInstall(await helmTemplate(h.bin, 'default'), 'chart defaults');
    const edge = await helmTemplate(h.bin, 'team-a', ['name=edge', 'drainMs=20000', 'preStopSleepSeconds=10', 'terminationGracePeriodSeconds=31']);
    checkWaypointInstall(edge, 'chart name=edge');
    const c = specOf<WorkloadSpec>(one(edge, 'Deployment')).template.spec.containers[0] as Container;
    assert.equal(argValue(c.args ?? [], '--drain-ms'), '20000');
    // The control-plane switch: xDS from istiod next to the API, or another bind mode.
    const xds = await helmTemplate(h.bin, 'team-a', ['controlPlane.xdsAddress=istiod.istio-system.svc:15012', 'bind=wildcard']);
    checkWaypointInstallArgs(xds, { xds: 'istiod.istio-system.svc:15012', bind: ['0.0.0.0'] });
    await assert.rejects(helmTemplate(h.bin, 'team-a', ['bind=pod']), /bind/);
    const bare = await helmTemplate(h.bin, 'team-a', ['autoscaling.enabled=false', 'podDisruptionBudget.enabled=false', 'enrollNamespace=false']);
    assert.deepEqual(bare.map((o) => o.kind).filter((k) => ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Namespace'].includes(k)), []);
  });

  it('the ztunnel DaemonSet: ports, probes, drain', () => {
    const objects = plainKustomization(path.join(KUBE_DIR, 'ztunnel'));
    const ds = one(objects, 'DaemonSet');
    const pod = specOf<WorkloadSpec>(ds).template;
    const c = pod.spec.containers[0] as Container;
    assert.equal(c.args?.[0], 'ztunnel');
    assert.equal(argValue(c.args ?? [], '--node'), '$(NODE_NAME)');
    // Accepted by the ztunnel's own option table (strict: an unknown flag throws).
    const env = kubeletEnv(c, { 'spec.nodeName': 'node-a', 'status.podIP': '127.1.244.2', 'metadata.name': 'ztunnel-x', 'metadata.namespace': 'ambient-system', 'spec.serviceAccountName': 'ztunnel', 'status.hostIP': '127.3.244.2' });
    const { values } = parseArgs({ args: expandArgs(c.args ?? [], env).slice(1), options: ZTUNNEL_OPTIONS, strict: true });
    assert.equal(values.node, 'node-a');
    assert.ok(c.env?.some((e) => e.name === 'NODE_NAME' && e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName'));
    assert.equal(Number(argValue(c.args ?? [], '--drain-ms')), DEFAULT_DRAIN_MS);
    assert.ok((pod.spec.terminationGracePeriodSeconds ?? 30) >= DEFAULT_DRAIN_MS / 1000 + 1);
    assert.equal(portOf(c, 'status-port'), READINESS_PORT);
    assert.equal(portOf(c, 'metrics'), METRICS_PORT);
    for (const probe of [c.startupProbe, c.readinessProbe]) assert.equal(probe?.httpGet?.port, READINESS_PORT);
    assert.equal(pod.metadata.annotations?.['prometheus.io/port'], String(METRICS_PORT));
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(pod.spec.serviceAccountName, one(objects, 'ServiceAccount').metadata.name);
    assert.ok(includesAll(pod.metadata.labels, specOf<WorkloadSpec>(ds).selector.matchLabels));
    assertDataPlaneNodeFlags(c, 'ztunnel:');
  });

  it('the probe path is what the readiness server answers: 503 until ready, 200 when ready, 503 draining', async () => {
    const c = specOf<WorkloadSpec>(one(base, 'Deployment')).template.spec.containers[0] as Container;
    const probePath = c.readinessProbe?.httpGet?.path ?? '';
    assert.equal(probePath, '/healthz/ready', 'the path pilot-agent and ztunnel serve, which Istio tooling expects');
    assert.equal(c.startupProbe?.httpGet?.path, probePath);
    const readiness = new ReadinessServer();
    const addr = await readiness.listen('127.0.0.1', 0);
    try {
      assert.equal((await get('127.0.0.1', addr.port, probePath)).status, 503);
      readiness.setReady();
      assert.equal((await get('127.0.0.1', addr.port, probePath)).status, 200);
      readiness.setDraining();
      assert.equal((await get('127.0.0.1', addr.port, probePath)).status, 503);
    } finally {
      await readiness.close(100);
    }
  });

  it('the scrape path is what the Prometheus server answers, with Istio metrics', async () => {
    const pod = specOf<WorkloadSpec>(one(base, 'Deployment')).template;
    const scrapePath = pod.metadata.annotations?.['prometheus.io/path'] ?? '';
    const server = new PrometheusServer(new ProxyMetrics());
    const [addr] = await server.listen('127.0.0.1', [0]);
    try {
      const res = await get('127.0.0.1', addr?.port ?? 0, scrapePath);
      assert.equal(res.status, 200);
      assert.match(res.type, /^text\/plain; version=0\.0\.4/);
      assert.match(res.body, /# TYPE istio_requests_total counter/);
    } finally {
      await server.close(100);
    }
  });
});
