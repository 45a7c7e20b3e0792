/**
 * The Kubernetes watch against the fake API server: scoped to what a waypoint serves (its namespace
 * and the root namespace, per-namespace collection URLs; `--kube-namespaces` widens it), the
 * endpoints of a selector-less Service read from its EndpointSlices (ready addresses only, ports by
 * name, following updates), and a periodic full re-list that catches an event the watch never
 * delivered. (A watch that expires with 410 Gone re-lists: kube-watch.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeNamespaces, openControlPlane, waitForControlPlane } from '../../src/commands/control-plane-options.js';
import { KUBE_RESOURCES } from '../../src/sources/kube-resources.js';
import { KubeWatchSource } from '../../src/sources/kube-watch.js';
import { SnapshotStore } from '../../src/state/snapshot-store.js';
import { eventually } from '../helpers/eventually.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';

const SERVICES = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const GATEWAYS = '/apis/gateway.networking.k8s.io/v1/gateways';
const POLICIES = '/apis/security.istio.io/v1/authorizationpolicies';

const svc = (name: string, namespace: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { clusterIP: '127.100.96.10', ports: [{ name: 'tcp-db', port: 5432, targetPort: 5432 }, { name: 'http-admin', port: 8080, targetPort: 8080 }], ...extra },
});

const slice = (name: string, service: string, endpoints: readonly { ip: string; ready?: boolean }[]): Record<string, unknown> => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  ports: [{ name: 'tcp-db', port: 15432, protocol: 'TCP' }],
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.ready !== undefined ? { conditions: { ready: e.ready } } : {}) })),
});

describe('Kubernetes watch: scope, EndpointSlices, resync', () => {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-scope-'));
    api = await FakeKubeApi.start(KUBE_RESOURCES.map((r) => r.path));
    kubeconfig = api.writeKubeconfig(dir);
    api.set(GATEWAYS, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'waypoint', namespace: 'default' },
      spec: { gatewayClassName: 'istio-waypoint', addresses: [{ type: 'Hostname', value: 'waypoint.default.svc.cluster.local' }], listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
    });
    api.set(SERVICES, svc('db', 'default'));
    api.set(SERVICES, svc('elsewhere', 'other', { selector: { app: 'x' }, clusterIP: '127.100.96.11' }));
    api.set(POLICIES, { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'mesh-wide', namespace: 'istio-system' }, spec: {} });
    api.set(SLICES, slice('db-abc', 'db', [{ ip: '127.1.5.1' }, { ip: '127.1.5.2', ready: false }, { ip: '127.1.5.3', ready: true }]));
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (flag?: string): Promise<{ readonly store: SnapshotStore; readonly close: () => Promise<void> }> => {
    const choice = await openControlPlane({ kubeconfig, ...(flag ? { 'kube-namespaces': flag } : {}) }, { kind: 'waypoint', waypoint: { namespace: 'default', name: 'waypoint' } }, {});
    const store = await SnapshotStore.open({ dir: mkdtempSync(join(dir, 'files-')), watch: false, localRanges: false, sources: choice.sources });
    assert.ok(await waitForControlPlane(choice.sources, () => store.current().waypoint('default', 'waypoint') !== undefined, 10_000));
    return { store, close: () => store.close() };
  };

  it('a waypoint watches its namespace and the root namespace only; --kube-namespaces widens it', async () => {
    assert.deepEqual(kubeNamespaces(undefined, { kind: 'waypoint', waypoint: { namespace: 'apps', name: 'w' } }), ['apps', 'istio-system']);
    assert.deepEqual(kubeNamespaces('other, third', { kind: 'waypoint', waypoint: { namespace: 'apps', name: 'w' } }), ['apps', 'other', 'third', 'istio-system']);
    assert.equal(kubeNamespaces('*', { kind: 'waypoint', waypoint: { namespace: 'apps', name: 'w' } }), undefined);
    assert.equal(kubeNamespaces(undefined, { kind: 'ztunnel', node: 'n' }), undefined);
    assert.throws(() => kubeNamespaces('Bad_NS', { kind: 'ztunnel', node: 'n' }), /not a namespace name/);

    const from = api.requests.length;
    const scoped = await open();
    try {
      const urls = api.requests.slice(from).map((r) => r.url.split('?')[0] ?? '');
      assert.ok(urls.includes('/api/v1/namespaces/default/services'));
      assert.ok(urls.includes('/apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies'));
      assert.ok(urls.includes('/api/v1/namespaces'), 'Namespaces stay cluster-wide (their labels enroll Services)');
      for (const u of urls) assert.ok(u === '/api/v1/namespaces' || /\/namespaces\/(default|istio-system)\//.test(u), `unscoped request ${u}`);
      const services = [...scoped.store.current().snapshot.services.values()].map((s) => `${s.namespace}/${s.name}`);
      assert.deepEqual(services, ['default/db']);
      const snap = scoped.store.current().snapshot;
      assert.ok([...snap.l4Policies, ...(snap.l7Policies ?? [])].some((p) => p.name === 'mesh-wide' && p.namespace === 'istio-system'), 'root-namespace policies are watched');
    } finally {
      await scoped.close();
    }
    const wide = await open('other');
    try {
      assert.deepEqual([...wide.store.current().snapshot.services.values()].map((s) => `${s.namespace}/${s.name}`).sort(), ['default/db', 'other/elsewhere']);
    } finally {
      await wide.close();
    }
  });

  it('a Service without a selector takes its endpoints from its EndpointSlices, and follows them', async () => {
    const { store, close } = await open();
    try {
      const endpoints = (port: number): string[] => {
        const view = store.current();
        const s = view.serviceByHostname('db.default.svc.cluster.local', 'default');
        assert.ok(s, 'service db');
        return view.endpoints(s, port).map((e) => `${e.workload.ip}:${e.targetPort}`);
      };
      // Ready (or unset) addresses only; the slice port named like the Service port.
      assert.deepEqual(endpoints(5432), ['127.1.5.1:15432', '127.1.5.3:15432']);
      assert.deepEqual(endpoints(8080), [], 'no slice port named http-admin');
      api.set(SLICES, slice('db-abc', 'db', [{ ip: '127.1.5.2', ready: true }]));
      await eventually(() => assert.deepEqual(endpoints(5432), ['127.1.5.2:15432']));
      api.delete(SLICES, 'default', 'db-abc');
      await eventually(() => assert.deepEqual(endpoints(5432), []));
    } finally {
      await close();
    }
  });

  it('re-lists every resync period, dropping an object whose deletion the watch never delivered', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const services = KUBE_RESOURCES.filter((r) => r.kind === 'Service');
    api.set(SERVICES, svc('ghost', 'default'));
    const source = new KubeWatchSource({ kubeConfig: kc, resources: services, resyncMs: 1500 });
    try {
      const names = (): string[] => source.objects().map((o) => (o.type === 'Service' ? o.value.name : '')).sort();
      await eventually(() => assert.ok(names().includes('ghost')));
      const lists = api.listCount(SERVICES);
      api.deleteSilently(SERVICES, 'default', 'ghost');
      await eventually(() => assert.ok(!names().includes('ghost')), 10_000);
      assert.ok(api.listCount(SERVICES) > lists, 'a full list, not a watch event, removed it');
      assert.ok(source.status().synced && !source.status().stale);
    } finally {
      await source.close();
    }
  });
});
