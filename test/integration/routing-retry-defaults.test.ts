/**
 * Retry semantics that come from specs rather than from a route's own `retries`: Gateway API
 * GEP-1731 (a `retry` stanza retries a `backendRequest` timeout and a connection reset even
 * without `codes`: HTTPRouteRetryBackendTimeout, HTTPRouteRetryConnectionError), the waypoint's
 * default route using the mesh default retry policy (Istio 1.31), MeshConfig
 * `defaultHttpRetryPolicy`, and an HTTPRoute rule without backendRefs (500). Attempts are
 * counted by the echo app (`x-echo-fail`), so each number is what the backend really saw.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
`;
}

const FILES = [
  service('gep-retry', 60),
  `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gep-retry, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: gep-retry, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /timeout}}]
      timeouts: {backendRequest: 300ms}
      retry: {attempts: 2}
      backendRefs: [{name: gep-retry, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /no-backends}}]
    - retry: {attempts: 2}
      backendRefs: [{name: gep-retry, port: 9080}]
`,
].join('---\n');

let keys = 0;

describe('retry defaults and Gateway API retry semantics', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-retries.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const send = (host: string, path: string, headers: Record<string, string> = {}): Promise<MeshResponse> =>
    mesh.request(mesh.pod('default', 'sleep'), `http://${host}:9080${path}`, { headers });

  /** A request whose first `times` tries fail with `how`; the response and the tries the echo saw. */
  async function failing(host: string, path: string, times: number, how: string): Promise<{ res: MeshResponse; attempts: number }> {
    const key = `d${process.pid}-${Date.now()}-${keys++}`;
    const res = await send(host, path, { 'x-echo-fail': `${key},${times},${how}` });
    const probe = await send(host, '/probe', { 'x-echo-fail': `${key},0,503` });
    return { res, attempts: Number(probe.headers['x-echo-attempts']) - 1 };
  }

  it('HTTPRouteRetryBackendTimeout: a backendRequest timeout is retried without codes', async () => {
    const r = await failing('gep-retry', '/timeout/x', 1, 'hang');
    assert.deepEqual([r.res.status, r.attempts], [200, 2]);
  });

  it('HTTPRouteRetryConnectionError: a reset after the request was sent is retried without codes', async () => {
    const r = await failing('gep-retry', '/reset', 1, 'reset');
    assert.deepEqual([r.res.status, r.attempts], [200, 2]);
    // Status codes are still retried only when listed.
    const s = await failing('gep-retry', '/503', 1, '503');
    assert.deepEqual([s.res.status, s.attempts], [503, 1]);
  });

  it('an HTTPRoute rule without backendRefs answers 500', async () => {
    const res = await send('gep-retry', '/no-backends/x');
    assert.equal(res.status, 500);
  });

  it("the default route uses the mesh default retry (Istio 1.31): 'unavailable' is retried, a reset is not", async () => {
    const grpc = await failing('reviews', '/default/grpc', 1, 'grpc-14');
    assert.deepEqual([grpc.res.status, grpc.attempts], [200, 2]);
    const reset = await failing('reviews', '/default/reset', 1, 'reset');
    assert.deepEqual([reset.res.status, reset.attempts], [503, 1]);
  });

  it('MeshConfig defaultHttpRetryPolicy replaces it on the default route', async () => {
    mesh.config.write(
      '95-mesh.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultHttpRetryPolicy: {attempts: 3, retryOn: "503"}
`,
    );
    await eventually(async () => {
      const r = await failing('reviews', '/mesh/503', 2, '503');
      assert.deepEqual([r.res.status, r.attempts], [200, 3]);
    }, 10_000, 100);
    // Its conditions replace the default ones: 'unavailable' is no longer retried.
    const grpc = await failing('reviews', '/mesh/grpc', 1, 'grpc-14');
    assert.equal(grpc.attempts, 1);
  });
});
