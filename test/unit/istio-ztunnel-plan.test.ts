/**
 * What `ambient up --istio-ztunnel` asks for, without running it: the local istiod once, one
 * Istio ztunnel per pod of the chosen nodes (in the pod's network namespace, with its app), our
 * ztunnel only for the other nodes; and the workload resources Istio's ztunnel is fed (Istio's
 * uid format, the waypoint as a workload with its identity, selector policies listed on the
 * workloads they select, app protocols on service ports, policy scopes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, ipBytes, workloadResources } from '../../src/control-plane/workload-resources.js';
import { desiredProcesses, type IstioZtunnelPlan } from '../../src/runner/desired-processes.js';
import { l4Policy, meshView, service, waypoint, workload } from '../helpers/mesh-builders.js';

const client = workload({ name: 'sleep', ip: '127.1.0.2', node: 'node-a', containerPorts: [] });
const reviews = { ...workload({ name: 'reviews-v1', ip: '127.1.0.11', node: 'node-b', labels: { app: 'reviews' }, serviceAccount: 'bookinfo-reviews' }), demoApp: { kind: 'echo' as const, ports: [9080] } };
const ratings = { ...workload({ name: 'ratings-v1', ip: '127.1.0.13', node: 'node-c', labels: { app: 'ratings' } }), demoApp: { kind: 'echo' as const, ports: [9080] } };
const view = meshView({
  workloads: [client, reviews, ratings],
  services: [service({ name: 'reviews', vips: ['127.100.0.10'], ports: [{ port: 9080, appProtocol: 'http' }], waypoint: 'waypoint' })],
  waypoints: [waypoint({ name: 'waypoint', addresses: ['127.2.0.1'] })],
  policies: [
    l4Policy({ name: 'reviews-only-waypoint', action: 'ALLOW', selector: { app: 'reviews' }, matches: [{ principals: ['cluster.local/ns/default/sa/waypoint'] }] }),
    l4Policy({ name: 'deny-all', namespace: 'istio-system', action: 'DENY', rules: [] }),
  ],
});

const plan: IstioZtunnelPlan = {
  nodes: new Set(['node-a', 'node-b']),
  istiodAddress: '127.3.0.250:15012',
  netnsOf: (w) => `ns-${w.name}`,
  programFor: (w) => ({ command: '/bin/ztunnel', env: { PROXY_WORKLOAD_INFO: `${w.namespace}/${w.name}/${w.serviceAccount}` }, readyUrl: `http://${w.ip}:15021/healthz/ready` }),
};

describe('ambient up --istio-ztunnel: the processes', () => {
  it('runs istiod, an Istio ztunnel per pod of the chosen nodes, apps in their pods, and ours elsewhere', () => {
    const specs = desiredProcesses(view, { configDir: 'cfg', stateDir: 'st', nodeAddress: () => '127.3.0.1', istioZtunnel: plan });
    const byName = new Map(specs.map((s) => [s.name, s]));
    assert.deepEqual(byName.get('istiod')?.args.slice(0, 3), ['istiod', '--address', '127.3.0.250:15012']);
    assert.equal(byName.get('istio-ztunnel/default/sleep')?.external?.env['PROXY_WORKLOAD_INFO'], 'default/sleep/sleep');
    assert.equal(byName.get('istio-ztunnel/default/reviews-v1')?.netns, 'ns-reviews-v1');
    assert.equal(byName.get('app/default/reviews-v1')?.netns, 'ns-reviews-v1', 'the app runs beside its Istio ztunnel');
    assert.equal(byName.get('app/default/ratings-v1')?.netns, undefined);
    assert.deepEqual(specs.filter((s) => s.name.startsWith('ztunnel/')).map((s) => s.name), ['ztunnel/node-c'], 'ours only where Istio does not run');
    const order = specs.map((s) => s.role);
    assert.ok(order.indexOf('istiod') < order.indexOf('ztunnel') && order.lastIndexOf('ztunnel') < order.indexOf('waypoint'), order.join());
  });

  it('without the option: no istiod and no external programs', () => {
    const specs = desiredProcesses(view, { configDir: 'cfg', stateDir: 'st', nodeAddress: () => '127.3.0.1' });
    assert.equal(specs.some((s) => s.role === 'istiod' || s.external !== undefined || s.netns !== undefined), false);
  });
});

describe('workload resources for Istio ztunnel', () => {
  const r = workloadResources(view, { clusterId: 'Kubernetes' });
  const addresses = r[ADDRESS_TYPE_URL];
  const wl = (uid: string): Record<string, unknown> => (addresses.get(uid)?.['workload'] ?? {}) as Record<string, unknown>;

  it('names workloads as Istio does and lists the selector policies that select them', () => {
    const w = wl('Kubernetes//Pod/default/reviews-v1');
    assert.equal(w['service_account'], 'bookinfo-reviews');
    assert.deepEqual(w['addresses'], [ipBytes('127.1.0.11')]);
    assert.equal(w['tunnel_protocol'], 'HBONE');
    assert.deepEqual(w['authorization_policies'], ['default/reviews-only-waypoint']);
    assert.deepEqual(w['services'], { 'default/reviews.default.svc.cluster.local': { ports: [{ service_port: 9080, target_port: 9080 }] } });
    assert.deepEqual(wl('Kubernetes//Pod/default/sleep')['authorization_policies'], []);
  });

  it('publishes the waypoint as a workload with its identity, and the Service points at it', () => {
    const wp = wl('Kubernetes//Pod/default/waypoint');
    assert.deepEqual([wp['service_account'], wp['tunnel_protocol'], wp['addresses']], ['waypoint', 'HBONE', [ipBytes('127.2.0.1')]]);
    const svc = addresses.get('default/reviews.default.svc.cluster.local')?.['service'] as Record<string, unknown>;
    assert.deepEqual(svc['waypoint'], { address: { network: '', address: ipBytes('127.2.0.1') }, hbone_mtls_port: 15008 });
    assert.deepEqual(svc['ports'], [{ service_port: 9080, target_port: 9080, app_protocol: 'HTTP11' }]);
  });

  it('keeps scope, action and matches of L4 policies', () => {
    const a = r[AUTHORIZATION_TYPE_URL];
    assert.equal(a.get('default/reviews-only-waypoint')?.['scope'], 'WORKLOAD_SELECTOR');
    assert.deepEqual(a.get('istio-system/deny-all')?.['scope'], 'GLOBAL');
    assert.deepEqual(a.get('istio-system/deny-all')?.['rules'], []);
    const rules = a.get('default/reviews-only-waypoint')?.['rules'] as { clauses: { matches: { principals: unknown[] }[] }[] }[];
    assert.deepEqual(rules[0]?.clauses[0]?.matches[0]?.principals, [{ exact: 'cluster.local/ns/default/sa/waypoint' }]);
  });

  it('encodes IPv6 addresses as 16 bytes', () => {
    assert.equal(Buffer.from(ipBytes('fd00::1'), 'base64').toString('hex'), 'fd000000000000000000000000000001');
    assert.equal(Buffer.from(ipBytes('127.1.0.2'), 'base64').toString('hex'), '7f010002');
  });
});

describe('workload resources for Istio ztunnel: a canary waypoint (Istio 1.31)', () => {
  it('sends weighted_waypoints [primary 100-w, canary w] and keeps waypoint = the primary', () => {
    const svc = { ...service({ name: 'reviews', vips: ['127.100.0.10'], ports: [9080], waypoint: 'waypoint' }), waypointCanary: { waypoint: { namespace: 'default', name: 'canary' }, weight: 10 } };
    const v = meshView({
      services: [svc],
      waypoints: [waypoint({ name: 'waypoint', addresses: ['127.2.0.1'] }), waypoint({ name: 'canary', addresses: ['127.2.0.2'] })],
    });
    const out = workloadResources(v, { clusterId: 'Kubernetes' })[ADDRESS_TYPE_URL].get('default/reviews.default.svc.cluster.local')?.['service'] as Record<string, unknown>;
    const at = (ip: string): unknown => ({ address: { network: '', address: ipBytes(ip) }, hbone_mtls_port: 15008 });
    assert.deepEqual(out['waypoint'], at('127.2.0.1'));
    assert.deepEqual(out['weighted_waypoints'], [
      { destination: at('127.2.0.1'), weight: 90 },
      { destination: at('127.2.0.2'), weight: 10 },
    ]);
  });
});
