/**
 * VirtualService `fault` through the real mesh: aborts (HTTP and gRPC status), delays, both, and
 * a percentage holding within statistical tolerance; flags `FI`/`DI` in the access records. A
 * faulted request never reaches the app.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { seededRandom } from '../helpers/seeded-random.js';

const FILES = `apiVersion: v1
kind: Service
metadata: {name: faulty, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.45
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: faulty, namespace: default}
spec:
  hosts: [faulty]
  http:
    - match: [{uri: {prefix: /abort}}]
      fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
      route: [{destination: {host: faulty}}]
    - match: [{uri: {prefix: /delay}}]
      fault: {delay: {fixedDelay: 300ms, percentage: {value: 100}}}
      route: [{destination: {host: faulty}}]
    - match: [{uri: {prefix: /both}}]
      fault:
        delay: {fixedDelay: 150ms, percentage: {value: 100}}
        abort: {httpStatus: 500, percentage: {value: 100}}
      route: [{destination: {host: faulty}}]
    - match: [{uri: {prefix: /half}}]
      fault: {abort: {httpStatus: 503, percentage: {value: 25}}}
      route: [{destination: {host: faulty}}]
    - match: [{uri: {prefix: /grpc}}]
      fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
      route: [{destination: {host: faulty}}]
    - route: [{destination: {host: faulty}}]
`;

describe('fault injection through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-fault.yaml': FILES }, random: seededRandom(7) });
  });
  after(async () => {
    await mesh?.close();
  });

  const send = (path: string, headers: Record<string, string> = {}) => mesh.request(mesh.pod('default', 'sleep'), `http://faulty:9080${path}`, { headers });
  const recordOf = async (path: string) =>
    eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.path === path);
      assert.ok(r, `no access record for ${path}`);
      return r;
    });

  it('aborts with the configured status, flag FI, and never reaches the app', async () => {
    const res = await send('/abort/1');
    assert.equal(res.status, 418);
    assert.equal(res.body.toString(), 'fault filter abort');
    assert.equal(res.headers['x-echo-pod'], undefined);
    const rec = await recordOf('/abort/1');
    assert.equal(rec.responseFlags, 'FI');
    assert.equal(rec.responseCodeDetails, 'fault_filter_abort');
    assert.equal(rec.upstreamHost, undefined);
  });

  it('delays by fixedDelay, flag DI, then proxies', async () => {
    const t0 = Date.now();
    const res = await send('/delay/1');
    const took = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.ok(res.headers['x-echo-pod']);
    assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
    assert.equal((await recordOf('/delay/1')).responseFlags, 'DI');
    assert.equal((await send('/plain')).status, 200);
    assert.equal((await recordOf('/plain')).responseFlags, '-');
  });

  it('delays then aborts (DI,FI)', async () => {
    const t0 = Date.now();
    const res = await send('/both/1');
    assert.equal(res.status, 500);
    assert.ok(Date.now() - t0 >= 140);
    assert.equal((await recordOf('/both/1')).responseFlags, 'DI,FI');
  });

  it('aborts a gRPC request with its gRPC status (HTTP 200, trailers-only)', async () => {
    const res = await send('/grpc/svc.Method', { 'content-type': 'application/grpc', te: 'trailers' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['grpc-status'], '14');
    assert.equal(res.headers['content-type'], 'application/grpc');
    assert.equal((await recordOf('/grpc/svc.Method')).responseFlags, 'FI');
  });

  it('aborts the configured percentage of requests, within statistical tolerance', async () => {
    const n = 200;
    let aborted = 0;
    for (let i = 0; i < n; i++) if ((await send(`/half/${i}`)).status === 503) aborted++;
    // p = 0.25: mean 50, sd ≈ 6.1; ±4 sd.
    assert.ok(aborted >= 26 && aborted <= 74, `aborted ${aborted} of ${n}`);
    const fi = mesh.waypointRecords.filter((r) => (r.path ?? '').startsWith('/half/') && r.responseFlags === 'FI').length;
    assert.equal(fi, aborted);
  });
});
