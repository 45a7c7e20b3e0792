/**
 * Invalid header values from sources the config checks cannot see (issue 11 §3, the hang
 * follow-up): a gRPC ext_authz server may put CR/LF in the headers it adds upstream or returns
 * on a denial (a protobuf string can hold any byte). Node's http, http2 and undici refuse such
 * values by throwing; the request must then fail fast with Envoy's answer, never hang:
 * - a header going upstream: 500, details `invalid_upstream_request_headers`;
 * - a header of a local reply going downstream: the reply is sent without it is not an option
 *   (the filter asked for that header), so 500, details `invalid_local_reply_headers`.
 * Nothing injected reaches the app or the client, and the waypoint keeps serving.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import type { GrpcAuthzServer } from '../helpers/ext-authz-servers.js';
import { startGrpcAuthzServer } from '../helpers/ext-authz-servers.js';
import type { LocalMesh, MeshResponse } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

/** A request that has not been answered by then is a hang (the bug this file reproduces). */
const HANG_MS = 5000;

function meshConfig(grpcPort: number): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
      - name: grpc-authz
        envoyExtAuthzGrpc: {service: 127.0.0.1, port: ${grpcPort}, timeout: 2s}
`;
}

const POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: CUSTOM
  provider: {name: grpc-authz}
  rules: [{to: [{operation: {paths: ["/ext/*"]}}]}]
`;

function withinHangBound<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_MS} ms (hang)`)), HANG_MS);
  });
  return Promise.race([p, hung]).finally(() => clearTimeout(timer));
}

describe('hardening: invalid header values fail fast (no hang)', () => {
  let mesh: LocalMesh;
  let authz: GrpcAuthzServer;
  let sleep: WorkloadIR;

  before(async () => {
    authz = await startGrpcAuthzServer();
    mesh = await startLocalMesh({ extraFiles: { '05-mesh-config.yaml': meshConfig(authz.port), '90-custom.yaml': POLICY } });
    sleep = mesh.pod('default', 'sleep');
  });
  after(async () => {
    await mesh?.close();
    await authz?.close();
  });

  const get = (path: string): Promise<MeshResponse> => withinHangBound(mesh.request(sleep, `http://reviews:9080${path}`), path);

  /** One HTTP/2 (prior knowledge) request through the tunnel. */
  async function getH2(path: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    session.on('error', () => undefined);
    try {
      return await withinHangBound(
        new Promise((resolve, reject) => {
          const req = session.request({ ':path': path, ':authority': 'reviews:9080' });
          let headers: http2.IncomingHttpHeaders = {};
          let body = '';
          req.on('response', (h) => (headers = h));
          req.on('data', (d: Buffer) => (body += d.toString()));
          req.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
          req.on('error', reject);
          req.end();
        }),
        `h2 ${path}`,
      );
    } finally {
      session.destroy();
    }
  }

  const recordFor = (path: string) => mesh.waypointRecordFor(path);

  it('a header the authorizer adds for the upstream with CR/LF: 500, nothing reaches the app', async () => {
    const res = await get('/ext/badheader-allow');
    assert.equal(res.status, 500, res.body.toString());
    assert.equal(res.headers['x-injected'], undefined);
    const r = await recordFor('/ext/badheader-allow');
    assert.equal(r.responseCodeDetails, 'invalid_upstream_request_headers');
  });

  it('a denial header with CR/LF: 500 instead of the denial, nothing injected (HTTP/1.1 and HTTP/2)', async () => {
    const res = await get('/ext/badheader-deny');
    assert.equal(res.status, 500, JSON.stringify(res.headers) + res.body.toString());
    assert.equal(res.headers['x-injected'], undefined);
    assert.equal((await recordFor('/ext/badheader-deny')).responseCodeDetails, 'invalid_local_reply_headers');
    const h2 = await getH2('/ext/badheader-deny-h2');
    assert.equal(h2.status, 500, h2.body);
    assert.equal(h2.headers['x-injected'], undefined);
  });

  it('the waypoint keeps serving', async () => {
    const res = await get('/ext/allow');
    assert.equal(res.status, 200);
    assert.equal(res.json<EchoReport>().headers['x-grpc-authz'], 'granted');
  });
});
