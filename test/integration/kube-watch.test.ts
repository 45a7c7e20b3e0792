/**
 * The Kubernetes API as a config source, against a fake API server speaking list and watch over
 * HTTP: objects listed at start and pushed through watches configure the real waypoint (which
 * backend answers changes), a rejected object keeps its previous version, deletions take effect,
 * an expired watch (410 Gone) re-lists, and an API outage leaves the last good config serving
 * (stale) until lists succeed again. Credentials come from a kubeconfig file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { configGate, openControlPlane, waitForControlPlane } from '../../src/commands/control-plane-options.js';
import { SnapshotStore } from '../../src/state/snapshot-store.js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { KUBE_RESOURCES } from '../../src/sources/kube-resources.js';
import { KubeWatchSource } from '../../src/sources/kube-watch.js';
import { eventually } from '../helpers/eventually.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { REVIEWS_VERSION_SERVICES_YAML } from '../helpers/mesh-fixtures.js';

const HTTPROUTES = '/apis/gateway.networking.k8s.io/v1/httproutes';
const WASMPLUGINS = '/apis/extensions.istio.io/v1alpha1/wasmplugins';

function reviewsRoute(backend: string, pathType = 'PathPrefix'): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'reviews-from-kube', namespace: 'default' },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [{ matches: [{ path: { type: pathType, value: '/' } }], backendRefs: [{ name: backend, port: 9080 }] }],
    },
  };
}

describe('Kubernetes list/watch through the waypoint', () => {
  let api: FakeKubeApi;
  let mesh: LocalMesh;
  let source: KubeWatchSource;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-watch-'));
    // Every collection except WasmPlugins (its CRD "not installed": 404 must not block readiness).
    api = await FakeKubeApi.start(KUBE_RESOURCES.map((r) => r.path).filter((p) => p !== WASMPLUGINS));
    api.set(HTTPROUTES, reviewsRoute('reviews-v2'));
    api.set('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-only', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
    const kubeconfig = api.writeKubeconfig(dir);
    mesh = await startLocalMesh({
      extraFiles: { '90-versions.yaml': REVIEWS_VERSION_SERVICES_YAML },
      sources: async () => {
        const kc = new KubeConfig();
        kc.loadFromFile(kubeconfig);
        source = new KubeWatchSource({ kubeConfig: kc, backoffMs: { initial: 50, max: 200 }, notFoundRetryMs: 200 });
        return [source];
      },
    });
  });
  after(async () => {
    await mesh?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const podOf = async (path = '/x'): Promise<string> => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`);
    assert.equal(res.status, 200, res.body.toString());
    return res.json<EchoReport>().pod;
  };
  const always = async (pod: string): Promise<void> => {
    for (let i = 0; i < 6; i++) assert.equal(await podOf(`/x${i}`), pod);
  };

  it('lists every collection with the kubeconfig token, syncs despite a missing CRD, and serves the listed route', async () => {
    await eventually(() => assert.ok(source.status().synced, source.status().detail));
    assert.ok(api.requests.length > 0 && api.requests.every((r) => r.authorization === 'Bearer fake-token'));
    assert.ok(api.requests.some((r) => r.url.startsWith('/api/v1/namespaces/istio-system/configmaps?fieldSelector=metadata.name%3Distio')));
    assert.ok(source.objects().some((o) => o.ref.key === 'Namespace/kube-only'));
    await eventually(async () => always('default/reviews-v2'));
  });

  it('follows watch events: a modified route changes the backend', async () => {
    api.set(HTTPROUTES, reviewsRoute('reviews-v1'));
    await eventually(async () => always('default/reviews-v1'));
  });

  it('keeps the last good version of a rejected object and says so', async () => {
    api.set(HTTPROUTES, reviewsRoute('reviews-v2', 'NoSuchType'));
    await eventually(() => assert.ok(mesh.store.diagnostics().some((d) => d.code === 'KEPT_PREVIOUS' && d.name === 'reviews-from-kube')));
    assert.ok(mesh.store.diagnostics().some((d) => d.severity === 'error' && d.file === 'kube:HTTPRoute/default/reviews-from-kube'));
    await always('default/reviews-v1');
    api.set(HTTPROUTES, reviewsRoute('reviews-v2'));
    await eventually(async () => always('default/reviews-v2'));
  });

  it('re-lists after a watch expires (410 Gone) and misses nothing', async () => {
    const lists = api.listCount(HTTPROUTES);
    api.compact();
    api.expireWatches();
    await eventually(() => assert.ok(api.listCount(HTTPROUTES) > lists));
    api.set(HTTPROUTES, reviewsRoute('reviews-v1'));
    await eventually(async () => always('default/reviews-v1'));
  });

  it('keeps serving while the API server fails (stale), and recovers', async () => {
    api.failLists(true);
    api.expireWatches();
    await eventually(() => {
      assert.ok(source.status().stale);
      assert.match(source.status().detail, /HTTPRoute: list \S+: HTTP 500: etcdserver: request timed out/);
    });
    await always('default/reviews-v1');
    api.failLists(false);
    await eventually(() => assert.ok(!source.status().stale && source.status().synced));
    api.set(HTTPROUTES, reviewsRoute('reviews-v2'));
    await eventually(async () => always('default/reviews-v2'));
  });

  it('removes a deleted object: back to the Service default (both versions answer)', async () => {
    api.delete(HTTPROUTES, 'default', 'reviews-from-kube');
    await eventually(() => assert.ok(!source.objects().some((o) => o.ref.kind === 'HTTPRoute')));
    const seen = new Set<string>();
    await eventually(async () => {
      seen.add(await podOf());
      assert.ok(seen.has('default/reviews-v1') && seen.has('default/reviews-v2'), [...seen].join());
    });
  });
});

describe('--kubeconfig selects the Kubernetes source', () => {
  it('opens a source that syncs (readiness) from the kubeconfig server; a bad kubeconfig is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-flag-'));
    const api = await FakeKubeApi.start(KUBE_RESOURCES.map((r) => r.path));
    try {
      api.set('/apis/gateway.networking.k8s.io/v1/gateways', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'waypoint', namespace: 'default', labels: { 'istio.io/waypoint-for': 'service' } },
        spec: { gatewayClassName: 'istio-waypoint', addresses: [{ type: 'IPAddress', value: '127.2.250.9' }], listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
      });
      api.set('/api/v1/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'api-0', namespace: 'default', labels: { app: 'api' } },
        spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'api', ports: [{ containerPort: 8080 }] }] },
        status: { podIP: '127.1.250.7' },
      });
      const waypoint = { kind: 'waypoint' as const, waypoint: { namespace: 'default', name: 'waypoint' } };
      const choice = await openControlPlane({ kubeconfig: api.writeKubeconfig(dir) }, waypoint, {});
      try {
        assert.equal(choice.description, `files + kube ${api.url}`);
        const gate = configGate(choice.sources);
        // The waypoint's own Gateway and the workloads come from the API alone (empty files dir).
        const store = await SnapshotStore.open({ dir: mkdtempSync(join(dir, 'files-')), watch: false, sources: choice.sources });
        try {
          const found = await waitForControlPlane(choice.sources, () => store.current().waypoint('default', 'waypoint') !== undefined, 10_000);
          assert.ok(found, JSON.stringify(store.diagnostics()));
          assert.ok(gate().synced);
          assert.deepEqual(store.current().waypoint('default', 'waypoint')?.addresses, ['127.2.250.9']);
          assert.equal([...store.current().snapshot.workloads.values()].find((w) => w.name === 'api-0')?.ip, '127.1.250.7');
        } finally {
          await store.close();
        }
      } finally {
        await Promise.all(choice.sources.map((s) => s.close()));
      }
      await assert.rejects(openControlPlane({ kubeconfig: join(dir, 'missing.yaml') }, waypoint, {}), { name: 'UsageError', message: /kubeconfig .*missing\.yaml/ });
    } finally {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
