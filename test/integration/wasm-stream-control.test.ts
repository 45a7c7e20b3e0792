/**
 * What a plugin does to the stream itself, through the real data path (client pod → ztunnel →
 * waypoint → ztunnel → echo app):
 * - `proxy_close_stream` resets the downstream stream (HTTP/2 RST_STREAM; HTTP/1.1 connection
 *   closed) instead of answering, from request headers (the upstream is never called) and from
 *   response headers (the upstream response is dropped);
 * - pseudo-header edits (`:method`, `:scheme`, `:path`, `:authority`) on request headers reach the
 *   upstream.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { pluginPath } from '../helpers/wasm-modules.js';

interface H2Outcome {
  readonly status?: number;
  /** RST_STREAM code when the stream was reset. */
  readonly rstCode?: number;
  readonly error?: string;
  readonly body?: string;
}

let ip = 70;
const service = (name: string, portName = 'http2'): string => reviewsServiceYaml(name, `127.100.0.${ip++}`, portName);

function plugin(name: string, svc: string, module: Parameters<typeof pluginPath>[0], config = '{}'): string {
  return `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
  url: file://${pluginPath(module)}
  pluginConfig: ${config}
`;
}

interface Echo {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme?: string;
}

/** One HTTP/2 GET from a pod, reporting a reset instead of throwing. */
async function h2Get(mesh: LocalMesh, from: WorkloadIR, host: string, headers: http2.OutgoingHttpHeaders): Promise<H2Outcome> {
  const socket = await mesh.connectFrom(from, host, 9080);
  const session = http2.connect(`http://${host}:9080`, { createConnection: () => socket });
  session.on('error', () => undefined);
  try {
    return await new Promise<H2Outcome>((resolve) => {
      const req = session.request({ ':path': '/probe', ...headers });
      let status: number | undefined;
      req.on('response', (h) => (status = Number(h[':status'])));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
      req.on('error', (err: Error) => resolve({ ...(status !== undefined ? { status } : {}), rstCode: req.rstCode, error: err.message }));
    });
  } finally {
    session.close();
    socket.destroy();
  }
}

describe('plugins controlling the stream', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  before(async () => {
    const docs = [
      service('ctl-h2'),
      plugin('ctl-h2', 'ctl-h2', 'header-edit'),
      service('ctl-h1', 'http'),
      plugin('ctl-h1', 'ctl-h1', 'header-edit'),
      service('ctl-pseudo'),
      plugin('ctl-pseudo', 'ctl-pseudo', 'header-edit', '{method: PUT, scheme: https, path: "/rewritten?by=wasm", authority: rewritten.example}'),
      service('ctl-pseudo-h1', 'http'),
      plugin('ctl-pseudo-h1', 'ctl-pseudo-h1', 'header-edit', '{method: DELETE, path: /h1-rewritten, authority: h1.example}'),
    ];
    mesh = await startLocalMesh({ extraFiles: { '90-stream-control.yaml': docs.join('---\n') } });
    sleep = mesh.pod('default', 'sleep');
  });

  after(async () => {
    await mesh?.close();
  });

  it('close_stream on request headers resets the HTTP/2 stream; the upstream is not called', { timeout: 10_000 }, async () => {
    const before = mesh.waypointRecords.length;
    const r = await h2Get(mesh, sleep, 'ctl-h2', { 'x-wasm-reset': '1' });
    assert.equal(r.status, undefined, 'no response headers');
    assert.ok(r.rstCode !== undefined && r.rstCode !== http2.constants.NGHTTP2_NO_ERROR, `RST_STREAM with an error code (got ${String(r.rstCode)}, ${String(r.error)})`);
    const ok = await h2Get(mesh, sleep, 'ctl-h2', {});
    assert.equal(ok.status, 200, 'the next stream is served');
    const rec = mesh.waypointRecords.slice(before).find((x) => x.responseCodeDetails === 'wasm_fail_stream');
    assert.ok(rec, 'the access record says wasm_fail_stream');
    assert.equal(rec.responseCode, 0);
    assert.equal(rec.upstreamHost ?? '-', '-');
  });

  it('close_stream on response headers resets the stream instead of relaying the response', { timeout: 10_000 }, async () => {
    const r = await h2Get(mesh, sleep, 'ctl-h2', { 'x-wasm-reset-response': '1' });
    assert.equal(r.status, undefined, 'the upstream response headers are not relayed');
    assert.ok(r.rstCode !== undefined && r.rstCode !== http2.constants.NGHTTP2_NO_ERROR);
  });

  it('close_stream on HTTP/1.1 closes the connection without a response', { timeout: 10_000 }, async () => {
    await assert.rejects(mesh.request(sleep, 'http://ctl-h1:9080/probe', { headers: { 'x-wasm-reset': '1' } }));
    const ok = await mesh.request(sleep, 'http://ctl-h1:9080/probe');
    assert.equal(ok.status, 200);
  });

  it('pseudo-header edits on request headers reach the HTTP/2 upstream', { timeout: 10_000 }, async () => {
    const r = await h2Get(mesh, sleep, 'ctl-pseudo', {});
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body ?? '') as Echo;
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.scheme, 'https');
    assert.equal(echo.path, '/rewritten?by=wasm');
    assert.equal(echo.authority, 'rewritten.example');
  });

  it('pseudo-header edits reach an HTTP/1.1 upstream (method, path, Host)', { timeout: 10_000 }, async () => {
    const r = await mesh.request(sleep, 'http://ctl-pseudo-h1:9080/probe');
    assert.equal(r.status, 200);
    const echo = r.json<Echo>();
    assert.equal(echo.method, 'DELETE');
    assert.equal(echo.path, '/h1-rewritten');
    assert.equal(echo.authority, 'h1.example');
  });
});
