/**
 * Making plugin modules ready never stalls the waypoint (issue 17): a multi-megabyte module is
 * instrumented and compiled in a worker thread while the waypoint keeps serving every Service
 * (the event loop's longest delay is measured during the load); until a module is ready its
 * plugin's fail strategy answers; a guest that loops forever traps instead of hanging the proxy.
 * All through the real data path: client pod → ztunnel → waypoint → ztunnel → echo app.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import { largeModule } from '../helpers/large-wasm-module.js';
import { startLocalMesh, type LocalMesh, type MeshResponse } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { watchStalls, type StallWatch } from '../helpers/stall-watch.js';
import { pluginPath, wat } from '../helpers/wasm-modules.js';

const MODULE_BYTES = 4 * 1024 * 1024;

function plugin(name: string, svc: string, url: string, extra = ''): string {
  return `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
  url: ${url}
${extra}`;
}

describe('Wasm module loading at the waypoint', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;
  let tmp: string;
  let bigPath: string;
  let functions = 0;
  // A module server that holds its answer until the test releases it: the plugin stays loading.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held: http.Server;
  let heldUrl = '';

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'wasm-loading-'));
    const big = largeModule(MODULE_BYTES);
    functions = big.functions;
    bigPath = path.join(tmp, 'large.wasm');
    writeFileSync(bigPath, big.bytes);
    const spin = path.join(tmp, 'spin.wasm');
    writeFileSync(
      spin,
      await wat(`(module (memory (export "memory") 1)
        (func (export "malloc") (param i32) (result i32) (i32.const 1024))
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
          (loop $forever (br $forever))
          (i32.const 0)))`),
    );
    const headerEdit = await import('node:fs/promises').then((fs) => fs.readFile(pluginPath('header-edit')));
    held = http.createServer((_req, res) => void released.then(() => res.end(headerEdit)));
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    heldUrl = `http://127.0.0.1:${(held.address() as AddressInfo).port}/header-edit.wasm`;
    const docs = [
      reviewsServiceYaml('plain', '127.100.0.60'),
      reviewsServiceYaml('large', '127.100.0.61'),
      reviewsServiceYaml('held-closed', '127.100.0.62'),
      reviewsServiceYaml('held-open', '127.100.0.63'),
      reviewsServiceYaml('spin', '127.100.0.64'),
      plugin('held-closed', 'held-closed', heldUrl, '  pluginConfig: {value: held}\n'),
      plugin('held-open', 'held-open', heldUrl, '  failStrategy: FAIL_OPEN\n  pluginConfig: {value: held}\n'),
      plugin('spin', 'spin', `file://${spin}`),
    ];
    mesh = await startLocalMesh({ extraFiles: { '90-wasm.yaml': docs.join('---\n') }, dontWaitForPlugins: true });
    sleep = mesh.pod('default', 'sleep');
  });

  after(async () => {
    release();
    await mesh?.close();
    await new Promise<void>((resolve) => held.close(() => resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  const get = (svc: string, headers: Record<string, string> = {}): Promise<MeshResponse> => mesh.request(sleep, `http://${svc}:9080/probe`, { headers });

  it('until a module is ready the fail strategy answers: FAIL_CLOSE 503, FAIL_OPEN passes without the plugin', async () => {
    const closed = await get('held-closed');
    assert.equal(closed.status, 503);
    const open = await get('held-open');
    assert.equal(open.status, 200);
    assert.equal(open.json<{ headers: Record<string, string> }>().headers['x-wasm-request'], undefined, 'the plugin did not run');
    release();
    const ready = await eventually(async () => {
      const r = await get('held-closed');
      assert.equal(r.status, 200);
      return r;
    }, 30_000);
    assert.equal(ready.json<{ headers: Record<string, string> }>().headers['x-wasm-request'], 'held');
    const openReady = await get('held-open');
    assert.equal(openReady.json<{ headers: Record<string, string> }>().headers['x-wasm-request'], 'held');
  });

  it('a guest that loops forever traps (503) in bounded time; the waypoint keeps serving', async () => {
    await eventually(() => mesh.waypoints[0]?.wasm.settled(), 30_000);
    const t0 = Date.now();
    assert.equal((await get('spin')).status, 503);
    assert.ok(Date.now() - t0 < 20_000);
    assert.equal((await get('spin', { 'x-any': '1' })).status, 503, 'a fresh VM, trapped again');
    assert.equal((await get('plain')).status, 200);
  });

  it(`a ${MODULE_BYTES / 1024 / 1024} MiB module loads off the event loop: no stall over 50 ms, other Services keep answering`, async () => {
    // Warm the path first (certificates, pooled connections), so only the load is measured.
    assert.equal((await get('plain')).status, 200);
    // Watched from the view that names the plugin (its load starts there), so the config
    // reload's own parsing, which any config change costs, is not counted as the module's.
    let watch: StallWatch | undefined;
    const stop = mesh.store.onChange((view) => {
      if (!watch && (view.snapshot.wasmPlugins ?? []).some((p) => p.name === 'large')) watch = watchStalls();
    });
    const started = Date.now();
    mesh.config.write('91-large.yaml', plugin('large', 'large', `file://${bigPath}`));
    let answered = 0;
    await eventually(
      async () => {
        const other = await get('plain');
        assert.equal(other.status, 200, 'another Service answers during the load');
        answered++;
        const r = await get('large');
        assert.equal(r.status, 200);
        assert.equal(r.json<{ headers: Record<string, string> }>().headers['x-large-module'], String(functions), 'the large plugin ran');
        return r;
      },
      120_000,
      20,
    );
    stop();
    assert.ok(watch, 'the view named the plugin');
    const report = watch.stop();
    process.stderr.write(
      `large module: ready after ${Date.now() - started} ms, ${answered} answers from another Service meanwhile; ` +
        `longest event-loop delay ${report.maxDelayMs.toFixed(1)} ms, longest stall outside GC ${report.maxNonGcStallMs.toFixed(1)} ms, longest on-thread busy stall ${report.maxBusyStallMs.toFixed(1)} ms (gaps gap/gc/cpu ms: ${report.gaps.join(' ') || 'none'})\n`,
    );
    assert.ok(answered >= 1);
    // The bound: no event-loop stall over 50 ms while the module loads. A longer delay is accepted
    // only when the event-loop thread was not working through it (waiting for a CPU on the shared
    // machine; see stall-watch.ts). Instrumenting on the event loop fails this (~70 ms of CPU).
    assert.ok(
      report.maxDelayMs < 50 || report.maxBusyStallMs < 50,
      `event loop stalled ${report.maxDelayMs.toFixed(1)} ms while the module loaded (${report.maxBusyStallMs.toFixed(1)} ms of CPU on the event-loop thread in one stall)`,
    );
  });
});
