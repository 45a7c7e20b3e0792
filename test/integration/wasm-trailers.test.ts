/**
 * Trailers end to end through the waypoint, over HTTP/2 (client pod → ztunnel → waypoint →
 * ztunnel → echo app, h2c inside the tunnels):
 * - request trailers reach the backend (the echo reports what it received), unchanged without a
 *   plugin and edited by one (`proxy_on_request_trailers`, map 1);
 * - response trailers from the backend reach the client, read and edited by a plugin
 *   (`proxy_on_response_trailers`, `get_header_map_pairs`/replace/add/remove on map 3);
 * - a plugin adds trailers from its last response-body callback to a response without any
 *   (Envoy's `addEncodedTrailers` through `getMap`);
 * - gRPC keeps its `grpc-status` trailer through a plugin with body callbacks.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { pluginPath } from '../helpers/wasm-modules.js';

interface H2Result {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Echo {
  readonly protocol: string;
  readonly body: { readonly bytes: number };
  readonly trailers?: Record<string, string>;
}

let ip = 60;
const service = (name: string): string => reviewsServiceYaml(name, `127.100.0.${ip++}`, 'http2');

function plugin(name: string, svc: string, config: string): string {
  return `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
  url: file://${pluginPath('header-edit')}
  pluginConfig: ${config}
`;
}

/** One HTTP/2 request from a pod; `trailers` are sent after the body when given. */
async function h2(
  mesh: LocalMesh,
  from: WorkloadIR,
  host: string,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<H2Result> {
  const socket = await mesh.connectFrom(from, host, 9080);
  const session = http2.connect(`http://${host}:9080`, { createConnection: () => socket });
  try {
    return await new Promise<H2Result>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': '/probe', ...headers }, { waitForTrailers: trailers !== undefined });
      if (trailers) req.once('wantTrailers', () => req.sendTrailers(trailers));
      let h: http2.IncomingHttpHeaders = {};
      let t: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (x) => (h = x));
      req.on('trailers', (x: http2.IncomingHttpHeaders) => (t = x));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status: Number(h[':status']), headers: h, trailers: t, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
    socket.destroy();
  }
}

function grpcFrame(payload: string): Buffer {
  const p = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(p.length, 1);
  return Buffer.concat([head, p]);
}

describe('trailers through the waypoint (HTTP/2)', { timeout: 60_000 }, () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  before(async () => {
    const docs = [
      service('trailers-plain'),
      service('trailers-edit'),
      plugin('trailer-edit', 'trailers-edit', '{requestTrailer: x-wasm-request-trailer, responseTrailerSuffix: "-wasm", removeResponseTrailer: x-drop-me}'),
      service('trailers-add'),
      plugin('trailer-add', 'trailers-add', '{addResponseTrailer: x-wasm-added, value: from-body}'),
    ];
    mesh = await startLocalMesh({ extraFiles: { '90-trailers.yaml': docs.join('---\n') } });
    sleep = mesh.pod('default', 'sleep');
  });

  after(async () => {
    await mesh?.close();
  });

  it('forwards HTTP/2 request trailers to the backend', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-plain', {}, Buffer.from('hello'), { 'x-checksum': 'abc123', 'x-two': '2' });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body.toString()) as Echo;
    assert.equal(echo.protocol, 'HTTP/2', 'the waypoint spoke HTTP/2 upstream');
    assert.equal(echo.body.bytes, 5);
    assert.deepEqual(echo.trailers, { 'x-checksum': 'abc123', 'x-two': '2' });
  });

  it('a request without trailers still reaches the backend whole, with none', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-plain', {}, Buffer.from('no trailers here'));
    const echo = JSON.parse(r.body.toString()) as Echo;
    assert.equal(echo.body.bytes, 16);
    assert.equal(echo.trailers, undefined);
  });

  it('forwards response trailers to the client', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-plain', { 'x-echo-trailers': 'x-result=ok;x-drop-me=1' }, Buffer.alloc(0));
    assert.equal(r.status, 200);
    assert.equal(r.trailers['x-result'], 'ok');
    assert.equal(r.trailers['x-drop-me'], '1');
    assert.equal(r.trailers['server'], undefined, 'response-header decorations stay out of trailers');
  });

  it('a plugin edits request trailers (seen by the backend) and response trailers (seen by the client)', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-edit', { 'x-echo-trailers': 'x-result=ok;x-drop-me=1;other=kept' }, Buffer.from('body'), { 'x-checksum': 'abc' });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body.toString()) as Echo;
    assert.deepEqual(echo.trailers, { 'x-checksum': 'abc', 'x-wasm-request-trailer': '1' }, 'proxy_on_request_trailers(n=1) added one');
    assert.equal(r.trailers['x-result'], 'ok-wasm', 'replaced through map 3');
    assert.equal(r.trailers['other'], 'kept');
    assert.equal(r.trailers['x-drop-me'], undefined, 'removed through map 3');
    assert.equal(r.trailers['x-wasm-trailers-seen'], '3', 'get_header_map_pairs saw the three upstream trailers');
  });

  it('no trailer callback runs for a response without trailers', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-edit', {}, Buffer.from('body'));
    assert.equal(r.status, 200);
    assert.equal(r.trailers['x-wasm-trailers-seen'], undefined);
  });

  it('a plugin adds trailers from its last response-body callback', { timeout: 10_000 }, async () => {
    const r = await h2(mesh, sleep, 'trailers-add', {}, Buffer.from('body'));
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body.toString()) as { app: string }).app, 'echo', 'the body is intact');
    assert.equal(r.trailers['x-wasm-added'], 'from-body');
  });

  it('gRPC keeps grpc-status through a plugin with body and trailer callbacks', { timeout: 10_000 }, async () => {
    const body = Buffer.concat([grpcFrame('one'), grpcFrame('two')]);
    const r = await h2(mesh, sleep, 'trailers-edit', { 'content-type': 'application/grpc', te: 'trailers', 'x-echo-grpc-status': '5' }, body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, body, 'the frames come back unchanged');
    assert.equal(r.trailers['grpc-status'], '5');
    assert.equal(r.trailers['x-wasm-trailers-seen'], '1');
  });
});
