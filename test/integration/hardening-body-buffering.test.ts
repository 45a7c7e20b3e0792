/**
 * Body buffering caps (issue 11 §2) where the waypoint must hold a body, through the real data
 * path (sleep → ztunnel → waypoint → ztunnel → reviews echo):
 * - a Wasm plugin that pauses the request body until its end (header-edit `appendRequestBody`)
 *   makes the waypoint buffer it: past Envoy's 1 MiB buffer limit the answer is 413
 *   `Payload Too Large` (details `request_payload_too_large`); under it the request goes through
 *   with the plugin's edit;
 * - the same for a paused response body: past the limit the stream is reset (its headers already
 *   left), under it the edit arrives.
 * The other buffering sites have their own tests: ext_authz `includeRequestBodyInCheck`
 * (security-ext-authz.test.ts: 413 past `maxRequestBytes`), retries (resilience-retries.test.ts:
 * past 1 MiB not retried, never 413), mirrors (shadow-body-tee.test.ts: a lagging shadow is dropped).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import { DEFAULT_BUFFER_LIMIT_BYTES } from '../../src/filter/buffer-limit.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh, MeshResponse } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { pluginPath } from '../helpers/wasm-modules.js';

const FILES = {
  '60-wasm-buffer.yaml': `apiVersion: v1
kind: Service
metadata:
  name: wasm-buffer
  namespace: default
  labels: {istio.io/use-waypoint: waypoint}
spec:
  clusterIP: 127.100.0.90
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: buffer, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: wasm-buffer}]
  url: file://${pluginPath('header-edit')}
  pluginConfig: {appendRequestBody: "+req", appendResponseBody: "+resp"}
`,
};

/** The echo report under the plugin's `+resp` tail. */
function report(r: MeshResponse): EchoReport {
  const text = r.body.toString();
  assert.ok(text.endsWith('+resp'), text.slice(-50));
  return JSON.parse(text.slice(0, -'+resp'.length)) as EchoReport;
}

describe('hardening: body buffering caps (Wasm pauses)', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: FILES });
    sleep = mesh.pod('default', 'sleep');
    // The plugin is loaded on first use; wait until it edits requests.
    await eventually(async () => {
      const r = await mesh.request(sleep, 'http://wasm-buffer:9080/warm', { method: 'POST', body: 'x' });
      assert.equal(report(r).body.bytes, 5);
    }, 20_000);
  });
  after(async () => {
    await mesh?.close();
  });

  const record = (path: string) => mesh.waypointRecordFor(path);

  it('a paused request body under the limit is buffered and edited', async () => {
    const size = DEFAULT_BUFFER_LIMIT_BYTES / 2;
    const r = await mesh.request(sleep, 'http://wasm-buffer:9080/small', { method: 'POST', body: Buffer.alloc(size, 1) });
    assert.equal(r.status, 200);
    assert.equal(report(r).body.bytes, size + '+req'.length);
  });

  it('a paused request body past 1 MiB: 413 Payload Too Large, nothing reaches the app', async () => {
    const r = await mesh.request(sleep, 'http://wasm-buffer:9080/large', { method: 'POST', body: Buffer.alloc(DEFAULT_BUFFER_LIMIT_BYTES + 64 * 1024, 1) });
    assert.equal(r.status, 413);
    assert.equal(r.body.toString(), 'Payload Too Large');
    const rec = await record('/large');
    assert.equal(rec.responseCode, 413);
    assert.equal(rec.responseCodeDetails, 'request_payload_too_large');
  });

  it('a paused response body under the limit is buffered and edited', async () => {
    const r = await mesh.request(sleep, 'http://wasm-buffer:9080/bytes/200000');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 200000 + '+resp'.length);
    assert.equal(r.body.subarray(-5).toString(), '+resp');
  });

  it('a paused response body past 1 MiB: the stream is reset (headers had left), the waypoint goes on', async () => {
    const size = DEFAULT_BUFFER_LIMIT_BYTES * 2;
    const got = await mesh.request(sleep, `http://wasm-buffer:9080/bytes/${size}`).then(
      (r) => r.body.length,
      () => -1,
    );
    assert.ok(got < size, `the response was cut short (got ${got} of ${size} bytes)`);
    const rec = await record(`/bytes/${size}`);
    assert.equal(rec.responseCodeDetails, 'via_upstream');
    const after = await mesh.request(sleep, 'http://wasm-buffer:9080/after', { method: 'POST', body: 'ok' });
    assert.equal(after.status, 200);
  });
});
