/**
 * Istio 1.31 weighted waypoint canary through the real data path: `reviews` names a primary
 * waypoint and a canary (`istio.io/use-waypoint-canary`) with weight 10; the client ztunnel draws
 * one per new connection, the canary accepts and serves the Service it fronts, and the echo app
 * reports which waypoint's identity reached it. Telemetry names the waypoint that served.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ViewSource } from '../../src/state/view-source.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { ZtunnelTelemetry } from '../../src/telemetry/ztunnel-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { seededRandom } from '../helpers/seeded-random.js';

const CANARY_WAYPOINT = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint-canary, namespace: default, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: 127.2.0.3}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: waypoint-canary, namespace: default}
`;

function reviewsWith(weight: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: default
  labels: {app: reviews, istio.io/use-waypoint: waypoint, istio.io/use-waypoint-canary: waypoint-canary}
  annotations: {istio.io/use-waypoint-canary-weight: "${weight}"}
spec:
  clusterIP: 127.100.0.10
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
`;
}

const CONNECTIONS = 600;
const PRIMARY = 'spiffe://cluster.local/ns/default/sa/waypoint';
const CANARY = 'spiffe://cluster.local/ns/default/sa/waypoint-canary';

describe('waypoint canary (istio.io/use-waypoint-canary, weight annotation)', () => {
  let mesh: LocalMesh;
  const metrics = new Map<string, ProxyMetrics>();
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };
  const rng = seededRandom(20261207);

  before(async () => {
    // The default reviews Service is replaced by one with a canary: same file name, same objects.
    const base = readFileSync(new URL('../../../deploy/local/default/20-reviews.yaml', import.meta.url), 'utf8');
    const withoutService = base.replace(/---\napiVersion: v1\nkind: Service\n[\s\S]*?(?=---\n)/, '---\n');
    mesh = await startLocalMesh({
      extraFiles: { '11-waypoint-canary.yaml': CANARY_WAYPOINT, '20-reviews.yaml': `${withoutService}---\n${reviewsWith('10')}` },
      ztunnelPickWaypoint: (n) => Math.floor(rng() * n),
      ztunnelAccessLog: (node) => {
        const m = new ProxyMetrics();
        metrics.set(node, m);
        return new ZtunnelTelemetry({ metrics: m, view, format: 'off' }).sink;
      },
    });
  });

  after(async () => {
    await mesh?.close();
  });

  async function servedBy(n: number, path: string): Promise<Map<string, number>> {
    const sleep = mesh.pod('default', 'sleep');
    const counts = new Map<string, number>();
    const batch = 20;
    for (let i = 0; i < n; i += batch) {
      const results = await Promise.all(
        Array.from({ length: Math.min(batch, n - i) }, () => mesh.request(sleep, `http://reviews:9080${path}`)),
      );
      for (const res of results) {
        assert.equal(res.status, 200);
        const id = res.json<{ peer: { identity?: string } }>().peer.identity ?? 'unknown';
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    return counts;
  }

  it('binds the canary from the Service labels and annotation', () => {
    const v = mesh.store.current();
    const reviews = v.serviceByHostname('reviews.default.svc.cluster.local');
    assert.ok(reviews);
    assert.deepEqual(reviews.waypointCanary, { waypoint: { namespace: 'default', name: 'waypoint-canary' }, weight: 10 });
    assert.deepEqual(v.weightedWaypoints(reviews)?.map((w) => [w.waypoint.name, w.weight, w.role]), [
      ['waypoint', 90, 'primary'],
      ['waypoint-canary', 10, 'canary'],
    ]);
  });

  it('a canary at weight 10 takes 10% ± 3% of 600 new connections, each served end to end', async () => {
    const before = mesh.ztunnelRecords.length;
    const counts = await servedBy(CONNECTIONS, '/canary-split');
    const canary = counts.get(CANARY) ?? 0;
    const primary = counts.get(PRIMARY) ?? 0;
    assert.equal(canary + primary, CONNECTIONS, `every request went through one of the two waypoints: ${JSON.stringify([...counts])}`);
    assert.ok(canary >= 42 && canary <= 78, `canary served ${canary} of ${CONNECTIONS}`);
    // The client ztunnel's records name the waypoint each connection drew, matching what the app saw.
    const records = await eventually(() => {
      const out = mesh.ztunnelRecords.slice(before).filter((r) => r.direction === 'outbound' && r.dstService === 'reviews.default.svc.cluster.local');
      assert.equal(out.length, CONNECTIONS);
      return out;
    });
    assert.equal(records.filter((r) => r.waypointRole === 'canary' && r.waypoint === 'default/waypoint-canary').length, canary);
    assert.equal(records.filter((r) => r.waypointRole === 'primary' && r.waypoint === 'default/waypoint').length, primary);
    // And the metric says the same, by waypoint and role.
    const text = (await metrics.get(mesh.pod('default', 'sleep').node)?.exposition())?.body ?? '';
    const count = (wp: string, role: string): number => {
      const line = text.split('\n').find((l) => l.startsWith('ambient_waypoint_connections_total{') && l.includes(`waypoint="${wp}"`) && l.includes(`waypoint_role="${role}"`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    assert.equal(count('default/waypoint-canary', 'canary'), canary);
    assert.equal(count('default/waypoint', 'primary'), primary);
  });

  it('weight 0 resolves the canary but sends it nothing; 100 sends it everything', async () => {
    const file = (w: string): string => mesh.config.read('20-reviews.yaml').replace(/istio\.io\/use-waypoint-canary-weight: "\d+"/, `istio.io/use-waypoint-canary-weight: "${w}"`);
    mesh.config.write('20-reviews.yaml', file('0'));
    await eventually(() => assert.equal(mesh.store.current().serviceByHostname('reviews.default.svc.cluster.local')?.waypointCanary?.weight, 0));
    assert.deepEqual([...(await servedBy(40, '/w0'))], [[PRIMARY, 40]]);
    mesh.config.write('20-reviews.yaml', file('100'));
    await eventually(() => assert.equal(mesh.store.current().serviceByHostname('reviews.default.svc.cluster.local')?.waypointCanary?.weight, 100));
    assert.deepEqual([...(await servedBy(40, '/w100'))], [[CANARY, 40]]);
  });

  it('an invalid weight keeps every connection on the primary', async () => {
    mesh.config.write('20-reviews.yaml', mesh.config.read('20-reviews.yaml').replace(/istio\.io\/use-waypoint-canary-weight: "\d+"/, 'istio.io/use-waypoint-canary-weight: "150"'));
    await eventually(() => assert.equal(mesh.store.current().serviceByHostname('reviews.default.svc.cluster.local')?.waypointCanary, undefined));
    assert.deepEqual([...(await servedBy(20, '/invalid'))], [[PRIMARY, 20]]);
  });

  it('the canary fronts only the Services that name it', async () => {
    // ratings has no waypoint: the canary waypoint must not accept a tunnel for it.
    const v = mesh.store.current();
    const ratings = v.serviceByHostname('ratings.default.svc.cluster.local');
    assert.ok(ratings);
    assert.equal(v.frontedBy(ratings, { namespace: 'default', name: 'waypoint-canary' }), false);
  });
});
