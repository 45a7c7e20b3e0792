/**
 * Route timeouts through the real in-process mesh: HTTPRoute `timeouts.request` and
 * `timeouts.backendRequest`, VirtualService `timeout`, the `x-envoy-upstream-rq-timeout-ms`
 * override and the `x-envoy-expected-rq-timeout-ms` header. A late echo (`x-echo-delay-ms`) gets
 * 504 `UT`, and the timed-out upstream stream is given back (aborted, not left to finish).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const FILES = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - name: bounded
      matches: [{path: {type: PathPrefix, value: /bounded}}]
      timeouts: {request: 400ms}
      backendRefs: [{name: reviews, port: 9080}]
    - name: per-try
      matches: [{path: {type: PathPrefix, value: /per-try}}]
      timeouts: {request: 5s, backendRequest: 300ms}
      backendRefs: [{name: reviews, port: 9080}]
    - name: unbounded
      matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: reviews, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews-vs, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.33
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-vs, namespace: default}
spec:
  hosts: [reviews-vs]
  http:
    - timeout: 350ms
      route: [{destination: {host: reviews-vs}}]
`;

/** Long enough that only a working timeout can end the request within the test's bounds. */
const LATE = '20000';

describe('route timeouts through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-timeouts.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const get = (host: string, path: string, headers: Record<string, string> = {}) =>
    mesh.request(mesh.pod('default', 'sleep'), `http://${host}:9080${path}`, { headers });

  const recordOf = (path: string) => {
    const r = mesh.waypointRecords.find((x) => x.path === path);
    assert.ok(r, `no access record for ${path}`);
    return r;
  };

  it('answers 504 UT when timeouts.request expires, and aborts the upstream request', async () => {
    const t0 = Date.now();
    const res = await get('reviews', '/bounded/slow', { 'x-echo-delay-ms': LATE });
    assert.equal(res.status, 504);
    assert.equal(res.body.toString(), 'upstream request timeout');
    assert.ok(Date.now() - t0 < 5000, 'bounded by the route timeout');
    const rec = await eventually(() => recordOf('/bounded/slow'));
    assert.equal(rec.responseFlags, 'UT');
    assert.equal(rec.responseCodeDetails, 'response_timeout');
    assert.equal(rec.responseCode, 504);
    // The aborted request closes its tunnel: the echo's ztunnel sees the waypoint's connection
    // end long before the echo would have answered.
    await eventually(() => {
      const closed = mesh.ztunnelRecords.filter((r) => r.direction === 'inbound' && r.startTime.getTime() >= t0 && r.srcIdentity?.includes('waypoint'));
      assert.ok(closed.length > 0, 'the upstream connection of the timed-out request is still open');
    }, 5000);
    for (const wp of mesh.waypoints) assert.equal(wp.balancer.snapshot().size, 0);
  });

  it('tells the upstream the timeout with x-envoy-expected-rq-timeout-ms', async () => {
    const res = await get('reviews', '/bounded/fast');
    assert.equal(res.status, 200);
    assert.equal(res.json<EchoReport>().headers['x-envoy-expected-rq-timeout-ms'], '400');
    const per = await get('reviews', '/per-try/fast');
    assert.equal(per.json<EchoReport>().headers['x-envoy-expected-rq-timeout-ms'], '300');
    const none = await get('reviews', '/other');
    assert.equal(none.json<EchoReport>().headers['x-envoy-expected-rq-timeout-ms'], undefined);
  });

  it('bounds each attempt with timeouts.backendRequest', async () => {
    const res = await get('reviews', '/per-try/slow', { 'x-echo-delay-ms': LATE });
    assert.equal(res.status, 504);
    const rec = await eventually(() => recordOf('/per-try/slow'));
    assert.equal(rec.responseFlags, 'UT');
    assert.equal(rec.responseCodeDetails, 'upstream_per_try_timeout');
  });

  it('lets x-envoy-upstream-rq-timeout-ms set a timeout, and does not forward it', async () => {
    const res = await get('reviews', '/other/slow', { 'x-echo-delay-ms': LATE, 'x-envoy-upstream-rq-timeout-ms': '200' });
    assert.equal(res.status, 504);
    const fast = await get('reviews', '/other/fast', { 'x-envoy-upstream-rq-timeout-ms': '1500' });
    const seen = fast.json<EchoReport>().headers;
    assert.equal(seen['x-envoy-upstream-rq-timeout-ms'], undefined);
    assert.equal(seen['x-envoy-expected-rq-timeout-ms'], '1500');
  });

  it('a late answer within the timeout still gets through', async () => {
    const res = await get('reviews', '/bounded/late-ok', { 'x-echo-delay-ms': '50' });
    assert.equal(res.status, 200);
  });

  it('enforces VirtualService timeout', async () => {
    const res = await get('reviews-vs', '/slow', { 'x-echo-delay-ms': LATE });
    assert.equal(res.status, 504);
    assert.equal(res.body.toString(), 'upstream request timeout');
    const ok = await get('reviews-vs', '/fast');
    assert.equal(ok.json<EchoReport>().headers['x-envoy-expected-rq-timeout-ms'], '350');
  });
});
