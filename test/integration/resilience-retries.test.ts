/**
 * Retries through the real mesh (client ztunnel → waypoint → destination ztunnel → echo): a
 * backend failing N times then succeeding (`x-echo-fail`) shows the exact attempts per retry
 * condition, a condition not listed is not retried, bodies are replayed byte for byte (and not
 * past the buffer limit), retries prefer another endpoint, the route timeout caps all attempts,
 * and Istio's default policies apply when nothing is configured.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh, type MeshResponse } from '../helpers/local-mesh.js';

/** A Service selecting both reviews pods, with one VirtualService or HTTPRoute each. */
function service(name: string, vip: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.${vip}
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
`;
}

function vs(name: string, http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}]
  http:
${http}`;
}

const FILES = [
  service('retry-5xx', 40),
  vs('retry-5xx', `    - retries: {attempts: 3, retryOn: 5xx}
      route: [{destination: {host: retry-5xx}}]
`),
  service('retry-gw', 41),
  vs('retry-gw', `    - retries: {attempts: 2, retryOn: gateway-error}
      route: [{destination: {host: retry-gw}}]
`),
  service('retry-misc', 42),
  vs('retry-misc', `    - match: [{uri: {prefix: /4xx}}]
      retries: {attempts: 2, retryOn: retriable-4xx}
      route: [{destination: {host: retry-misc}}]
    - match: [{uri: {prefix: /codes}}]
      retries: {attempts: 2, retryOn: "418,429"}
      route: [{destination: {host: retry-misc}}]
    - match: [{uri: {prefix: /reset}}]
      retries: {attempts: 2, retryOn: reset}
      route: [{destination: {host: retry-misc}}]
    - match: [{uri: {prefix: /grpc}}]
      retries: {attempts: 5, retryOn: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable"}
      route: [{destination: {host: retry-misc}}]
    - match: [{uri: {prefix: /timeout}}]
      timeout: 700ms
      retries: {attempts: 10, retryOn: 5xx, perTryTimeout: 200ms}
      route: [{destination: {host: retry-misc}}]
    - match: [{uri: {prefix: /no-retries}}]
      retries: {attempts: 0}
      route: [{destination: {host: retry-misc}}]
    - route: [{destination: {host: retry-misc}}]
`),
  `apiVersion: v1
kind: Service
metadata: {name: half-dead, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.43
  selector: {tier: half-dead}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: half-dead-live, namespace: default, labels: {tier: half-dead}}
spec:
  nodeName: node-a
  serviceAccountName: bookinfo-reviews
  containers: [{name: app, image: echo, ports: [{name: http, containerPort: 9080}]}]
status: {podIP: 127.1.0.40}
---
apiVersion: v1
kind: Pod
metadata: {name: half-dead-dead, namespace: default, labels: {tier: half-dead}}
spec:
  nodeName: node-b
  serviceAccountName: bookinfo-reviews
  containers: [{name: app, image: not-an-app, ports: [{name: http, containerPort: 9080}]}]
status: {podIP: 127.1.0.41}
`,
  vs('half-dead', `    - retries: {attempts: 2, retryOn: connect-failure}
      route: [{destination: {host: half-dead}}]
`),
  `apiVersion: v1
kind: Service
metadata: {name: retry-h2, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.47
  selector: {app: reviews}
  ports: [{name: http2, port: 9080, targetPort: 9080, appProtocol: http2}]
`,
  vs('retry-h2', `    - retries: {attempts: 2, retryOn: refused-stream}
      route: [{destination: {host: retry-h2}}]
`),
  service('retry-httproute', 44),
  `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: retry-httproute, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: retry-httproute, port: 9080}]
  rules:
    - retry: {codes: [503], attempts: 2}
      backendRefs: [{name: retry-httproute, port: 9080}]
`,
].join('---\n');

let keys = 0;
/** A fresh failure key per request, so counts never mix. */
function failKey(): string {
  return `k${process.pid}-${Date.now()}-${keys++}`;
}

describe('retries through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-retries.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const send = (host: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<MeshResponse> =>
    mesh.request(mesh.pod('default', 'sleep'), `http://${host}:9080${path}`, { headers, ...(body ? { body, method: 'POST' } : {}) });

  /** Sends a request failing `times` times with `how`; returns the response and the echo's attempt count. */
  async function failing(host: string, path: string, times: number, how: string, headers: Record<string, string> = {}): Promise<{ res: MeshResponse; attempts: number }> {
    const key = failKey();
    const res = await send(host, path, { 'x-echo-fail': `${key},${times},${how}`, ...headers });
    // Ask once more (never failing now): the echo says how many requests it saw for the key.
    const probe = await send(host, '/probe', { 'x-echo-fail': `${key},0,503` });
    return { res, attempts: Number(probe.headers['x-echo-attempts']) - 1 };
  }

  const recordOf = async (path: string) =>
    eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.path === path);
      assert.ok(r, `no access record for ${path}`);
      return r;
    });

  it('retries 5xx until it succeeds: exact attempts, x-envoy-attempt-count upstream', async () => {
    const { res, attempts } = await failing('retry-5xx', '/ok-after-2', 2, '500');
    assert.equal(res.status, 200);
    assert.equal(attempts, 3);
    assert.equal(res.json<EchoReport>().headers['x-envoy-attempt-count'], '3');
    assert.equal((await recordOf('/ok-after-2')).responseFlags, '-');
  });

  it('gives up after attempts retries with the last response and URX', async () => {
    const { res, attempts } = await failing('retry-5xx', '/always-failing', 10, '503');
    assert.equal(res.status, 503);
    assert.equal(res.body.toString(), 'failing on purpose\n');
    assert.equal(attempts, 4);
    const rec = await recordOf('/always-failing');
    assert.equal(rec.responseFlags, 'URX');
    assert.equal(rec.responseCodeDetails, 'via_upstream');
  });

  it('does not retry a condition that is not listed', async () => {
    // gateway-error covers 502/503/504 only: a 500 goes straight back.
    const r500 = await failing('retry-gw', '/500', 1, '500');
    assert.equal(r500.res.status, 500);
    assert.equal(r500.attempts, 1);
    assert.equal((await recordOf('/500')).responseFlags, '-');
    const r502 = await failing('retry-gw', '/502', 2, '502');
    assert.equal(r502.res.status, 200);
    assert.equal(r502.attempts, 3);
    // Envoy retries resets under gateway-error too (`wouldRetryFromReset`).
    const reset = await failing('retry-gw', '/reset', 1, 'reset');
    assert.equal(reset.res.status, 200);
    assert.equal(reset.attempts, 2);
  });

  it('retries retriable-4xx (409 only), integer codes in retryOn, and resets', async () => {
    const c409 = await failing('retry-misc', '/4xx', 2, '409');
    assert.deepEqual([c409.res.status, c409.attempts], [200, 3]);
    const c404 = await failing('retry-misc', '/4xx/404', 1, '404');
    assert.deepEqual([c404.res.status, c404.attempts], [404, 1]);
    const c429 = await failing('retry-misc', '/codes', 2, '429');
    assert.deepEqual([c429.res.status, c429.attempts], [200, 3]);
    const c500 = await failing('retry-misc', '/codes/500', 1, '500');
    assert.deepEqual([c500.res.status, c500.attempts], [500, 1]);
    const reset = await failing('retry-misc', '/reset', 2, 'reset');
    assert.deepEqual([reset.res.status, reset.attempts], [200, 3]);
    const resetTooMany = await failing('retry-misc', '/reset/again', 3, 'reset');
    assert.equal(resetTooMany.res.status, 503);
    assert.equal((await recordOf('/reset/again')).responseFlags, 'UC,URX');
  });

  it('retries each gRPC status condition from response headers', async () => {
    for (const code of [1, 4, 8, 13, 14]) {
      const r = await failing('retry-misc', `/grpc/${code}`, 1, `grpc-${code}`);
      assert.deepEqual([r.res.status, r.attempts, r.res.headers['grpc-status']], [200, 2, undefined], `grpc-status ${code}`);
    }
    // NOT_FOUND (5) is not a retry condition.
    const nf = await failing('retry-misc', '/grpc/5', 1, 'grpc-5');
    assert.deepEqual([nf.res.status, nf.attempts, nf.res.headers['grpc-status']], [200, 1, '5']);
  });

  it('takes retry conditions and counts from x-envoy-* request headers', async () => {
    // The catch-all rule has Istio's default (a 503 is not retried) until the headers ask.
    const plain = await failing('retry-misc', '/headers/none', 1, '503');
    assert.deepEqual([plain.res.status, plain.attempts], [503, 1]);
    const asked = await failing('retry-misc', '/headers/5xx', 3, '503', { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '3' });
    assert.deepEqual([asked.res.status, asked.attempts], [200, 4]);
    const codes = await failing('retry-misc', '/headers/codes', 1, '418', { 'x-envoy-retry-on': 'retriable-status-codes', 'x-envoy-retriable-status-codes': '418' });
    assert.deepEqual([codes.res.status, codes.attempts], [200, 2]);
    const named = await failing('retry-misc', '/headers/named', 1, '200', { 'x-envoy-retry-on': 'retriable-headers', 'x-envoy-retriable-header-names': 'x-echo-failing' });
    assert.deepEqual([named.res.status, named.attempts], [200, 2]);
    assert.equal(named.res.headers['x-echo-failing'], undefined);
    const grpc = await failing('retry-misc', '/headers/grpc', 1, 'grpc-14', { 'x-envoy-retry-grpc-on': 'unavailable' });
    assert.deepEqual([grpc.res.status, grpc.attempts], [200, 2]);
  });

  it('attempts: 0 turns retries off, even for connection-level failures', async () => {
    const r = await failing('retry-misc', '/no-retries', 1, 'reset');
    assert.deepEqual([r.res.status, r.attempts], [503, 1]);
    assert.equal((await recordOf('/no-retries')).responseFlags, 'UC');
  });

  it('sends a retry to the other endpoint (previous_hosts)', async () => {
    for (let i = 0; i < 6; i++) {
      const key = failKey();
      const res = await send('retry-5xx', `/other-host/${i}`, { 'x-echo-fail': `${key},1,503` });
      assert.equal(res.status, 200);
      const failedOn = String(res.headers['x-echo-failed-pods']);
      assert.notEqual(res.json<EchoReport>().pod, failedOn, 'the retry went back to the host that failed');
    }
  });

  it('replays a POST body byte for byte', async () => {
    const body = randomBytes(300 * 1024);
    const key = failKey();
    const res = await send('retry-5xx', '/upload', { 'x-echo-fail': `${key},2,503` }, body);
    assert.equal(res.status, 200);
    const seen = res.json<EchoReport>();
    assert.equal(seen.headers['x-envoy-attempt-count'], '3');
    assert.equal(seen.body.bytes, body.length);
    assert.equal(seen.body.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal((await recordOf('/upload')).bytesReceived, body.length);
  });

  it('does not retry a body larger than the replay buffer (1 MiB)', async () => {
    const body = randomBytes(1536 * 1024);
    const key = failKey();
    const res = await send('retry-5xx', '/big-upload', { 'x-echo-fail': `${key},1,503` }, body);
    assert.equal(res.status, 503);
    const probe = await send('retry-5xx', '/probe', { 'x-echo-fail': `${key},0,503` });
    assert.equal(probe.headers['x-echo-attempts'], '2');
  });

  it('retries a connection failure on the live endpoint (connect-failure)', async () => {
    const live = mesh.pod('default', 'half-dead-live');
    const results: string[] = [];
    for (let i = 0; i < 16; i++) {
      const res = await send('half-dead', `/cf/${i}`);
      assert.equal(res.status, 200);
      results.push(res.json<EchoReport>().headers['x-envoy-attempt-count'] as string);
    }
    assert.ok(results.includes('2'), `the dead endpoint was never tried: ${results.join(',')}`);
    for (let i = 0; i < 16; i++) assert.equal((await recordOf(`/cf/${i}`)).upstreamHost, `${live.ip}:9080`);
  });

  it('bounds all attempts with the route timeout (504 UT)', async () => {
    const t0 = Date.now();
    const res = await send('retry-misc', '/timeout/slow', { 'x-echo-delay-ms': '20000' });
    const took = Date.now() - t0;
    assert.equal(res.status, 504);
    assert.equal(res.body.toString(), 'upstream request timeout');
    // Per-try timeouts (200 ms) are retried on 5xx, until the 700 ms route timeout ends it all.
    assert.ok(took >= 650 && took < 4000, `took ${took} ms`);
    const rec = await recordOf('/timeout/slow');
    assert.equal(rec.responseFlags, 'UT');
    assert.equal(rec.responseCodeDetails, 'response_timeout');
  });

  it('keeps Istio defaults: a configured route retries connection failures, not a 503', async () => {
    const r = await failing('retry-misc', '/default/503', 1, '503');
    assert.deepEqual([r.res.status, r.attempts], [503, 1]);
    // The default route (no route at all) uses the mesh default retry: a reset is not in it.
    const d = await failing('reviews', '/default-route/reset', 1, 'reset');
    assert.deepEqual([d.res.status, d.attempts], [503, 1]);
    assert.equal((await recordOf('/default-route/reset')).responseFlags, 'UC');
  });

  it('retries an HTTP/2 REFUSED_STREAM (refused-stream), not another reset', async () => {
    const refused = await failing('retry-h2', '/refused', 1, 'refused');
    assert.deepEqual([refused.res.status, refused.attempts], [200, 2]);
    assert.equal(refused.res.json<EchoReport>().protocol, 'HTTP/2');
    const reset = await failing('retry-h2', '/h2-reset', 1, 'reset');
    assert.deepEqual([reset.res.status, reset.attempts], [503, 1]);
  });

  it('applies HTTPRoute retry (codes, attempts)', async () => {
    const r = await failing('retry-httproute', '/hr', 2, '503');
    assert.deepEqual([r.res.status, r.attempts], [200, 3]);
    const no = await failing('retry-httproute', '/hr/500', 1, '500');
    assert.deepEqual([no.res.status, no.attempts], [500, 1]);
  });
});
