/**
 * DestinationRule `connectionPool` (circuit breaking) and `outlierDetection` through the real
 * mesh, observed from outside: overflow answers 503 `UO` with `x-envoy-overloaded: true`, a retry
 * over `maxRetries` is not made (`UO`), a failing endpoint is ejected (every request lands on the
 * other one) and comes back after its ejection time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh, type MeshResponse } from '../helpers/local-mesh.js';

function service(name: string, vip: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.${vip}
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
`;
}

const FILES = `${service('pool-h1', 50)}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: pool-h1, namespace: default}
spec:
  host: pool-h1
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
---
${service('pool-requests', 51)}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: pool-requests, namespace: default}
spec:
  host: pool-requests
  trafficPolicy:
    connectionPool:
      http: {http2MaxRequests: 2}
---
${service('pool-retries', 52)}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: pool-retries, namespace: default}
spec:
  host: pool-retries
  trafficPolicy:
    connectionPool:
      http: {maxRetries: 1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: pool-retries, namespace: default}
spec:
  hosts: [pool-retries]
  http:
    - retries: {attempts: 2, retryOn: 5xx}
      route: [{destination: {host: pool-retries}}]
---
${service('outlier', 53)}apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: outlier, namespace: default}
spec:
  host: outlier
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 2
      interval: 100ms
      baseEjectionTime: 3s
      maxEjectionPercent: 50
`;

let keys = 0;

describe('circuit breaking and outlier detection through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-pools.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const send = (host: string, path: string, headers: Record<string, string> = {}): Promise<MeshResponse> =>
    mesh.request(mesh.pod('default', 'sleep'), `http://${host}:9080${path}`, { headers });
  const recordOf = async (path: string) =>
    eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.path === path);
      assert.ok(r, `no access record for ${path}`);
      return r;
    });

  it('overflows past maxConnections + http1MaxPendingRequests: 503 UO, x-envoy-overloaded', async () => {
    const slow = { 'x-echo-delay-ms': '600' };
    const first = [send('pool-h1', '/h1/a', slow), send('pool-h1', '/h1/b', slow)];
    // Both admitted (one active, one pending) before the third arrives.
    await eventually(() => mesh.waypoints.some((w) => w.breakers.for('inbound-vip|9080|http|pool-h1.default.svc.cluster.local').active.requests === 2));
    const third = await send('pool-h1', '/h1/c', slow);
    assert.equal(third.status, 503);
    assert.equal(third.headers['x-envoy-overloaded'], 'true');
    assert.equal(third.body.toString(), 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
    const rec = await recordOf('/h1/c');
    assert.equal(rec.responseFlags, 'UO');
    assert.equal(rec.responseCodeDetails, 'upstream_reset_before_response_started{overflow}');
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
    // Once they are done, the breaker admits again.
    await eventually(() => mesh.waypoints.every((w) => w.breakers.for('inbound-vip|9080|http|pool-h1.default.svc.cluster.local').active.requests === 0));
    assert.equal((await send('pool-h1', '/h1/d')).status, 200);
  });

  it('overflows past http2MaxRequests', async () => {
    const slow = { 'x-echo-delay-ms': '600' };
    const first = [send('pool-requests', '/mr/a', slow), send('pool-requests', '/mr/b', slow)];
    await eventually(() => mesh.waypoints.some((w) => w.breakers.for('inbound-vip|9080|http|pool-requests.default.svc.cluster.local').active.requests === 2));
    const third = await send('pool-requests', '/mr/c');
    assert.equal(third.status, 503);
    assert.equal((await recordOf('/mr/c')).responseFlags, 'UO');
    assert.deepEqual((await Promise.all(first)).map((r) => r.status), [200, 200]);
  });

  it('does not retry past maxRetries (UO on the forwarded response)', async () => {
    const k1 = `mr-${process.pid}-${keys++}`;
    const k2 = `mr-${process.pid}-${keys++}`;
    // Each fails once; the first retry (slow) holds the only retry slot while the second fails.
    const a = send('pool-retries', '/rt/a', { 'x-echo-fail': `${k1},1,503`, 'x-echo-delay-ms': '800' });
    await eventually(() => mesh.waypoints.some((w) => w.breakers.for('inbound-vip|9080|http|pool-retries.default.svc.cluster.local').active.retries === 1));
    const b = await send('pool-retries', '/rt/b', { 'x-echo-fail': `${k2},1,503` });
    assert.equal(b.status, 503);
    assert.equal((await recordOf('/rt/b')).responseFlags, 'UO');
    assert.equal((await a).status, 200);
    assert.equal((await recordOf('/rt/a')).responseFlags, '-');
  });

  it('ejects an endpoint after consecutive 5xx, then returns it after baseEjectionTime', async () => {
    const bad = 'default/reviews-v1';
    const v1 = mesh.pod('default', 'reviews-v1');
    const failOnV1 = { 'x-echo-status': '503', 'x-echo-status-pod': bad };
    // Until v1 has answered 503 twice in a row, it is picked (least request over two pods).
    let v1Failures = 0;
    for (let i = 0; i < 40 && v1Failures < 2; i++) {
      const r = await send('outlier', `/od/warm/${i}`, failOnV1);
      if (r.status === 503) v1Failures++;
    }
    assert.equal(v1Failures, 2);
    const ejectedAt = Date.now();
    // Ejected: every request now lands on v2 (checked well inside the 3 s ejection, however slow
    // a loaded machine makes each request).
    let checked = 0;
    while (checked < 12 && Date.now() - ejectedAt < 2000) {
      const r = await send('outlier', `/od/ejected/${checked++}`, failOnV1);
      assert.equal(r.status, 200, 'a request reached the ejected endpoint');
      assert.equal(r.json<EchoReport>().pod, 'default/reviews-v2');
    }
    assert.ok(checked >= 3, `only ${checked} requests while ejected`);
    // Back after ~3 s (first 100 ms tick past the ejection time): v1 answers again.
    const back = await eventually(async () => {
      const r = await send('outlier', '/od/back');
      assert.equal(r.json<EchoReport>().pod, bad);
      return Date.now();
    }, 10_000, 30);
    assert.ok(back - ejectedAt >= 2500, `returned after ${back - ejectedAt} ms`);
    assert.ok(mesh.waypointRecords.some((r) => r.path === '/od/back' && r.upstreamHost === `${v1.ip}:9080`));
  });
});
