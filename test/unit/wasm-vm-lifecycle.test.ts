/**
 * VM life cycle outside the data path: ABI detection, link of unknown imports, start-up failures,
 * traps and rebuilds, timers, and the AssemblyScript samples driven directly — their exports
 * called through @assemblyscript/loader, and their streams through the host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instantiateSync } from '@assemblyscript/loader';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { FilterResult, ResponseContext } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { Status } from '../../src/wasm/abi.js';
import { compilePlugin } from '../../src/wasm/compiled-plugin.js';
import type { HttpCallDispatcher } from '../../src/wasm/http-call.js';
import { PluginHandle } from '../../src/wasm/plugin-handle.js';
import { PluginVm } from '../../src/wasm/plugin-vm.js';
import { instrumentLoops } from '../../src/wasm/loop-fuel.js';
import type { LogLine } from '../helpers/wasm-modules.js';
import { compatPath, pluginPath, readModule, testRequest, vmSettings, wat } from '../helpers/wasm-modules.js';

const FAILED = respond({ status: 503, details: 'wasm_fail_stream' });

function compiled(bytes: Uint8Array) {
  const r = compilePlugin(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.plugin;
}

describe('Wasm VM life cycle', () => {
  it('detects ABI 0.2.0 (TinyGo, Go) and 0.2.1 (Rust, C++, AssemblyScript); rejects modules without a marker or with 0.1.0', async () => {
    assert.equal(compiled(readModule(compatPath('tinygo'))).abi, '0.2.0');
    assert.equal(compiled(readModule(compatPath('go-wasip1'))).abi, '0.2.0');
    assert.equal(compiled(readModule(compatPath('rust'))).abi, '0.2.1');
    assert.equal(compiled(readModule(compatPath('cpp'))).abi, '0.2.1');
    assert.equal(compiled(readModule(pluginPath('header-edit'))).abi, '0.2.1');
    const none = compilePlugin(await wat('(module (memory (export "memory") 1))'));
    assert.ok(!none.ok && /ABI version/.test(none.error));
    const old = compilePlugin(await wat('(module (func (export "proxy_abi_version_0_1_0")))'));
    assert.ok(!old.ok && /0\.1\.0 is not supported/.test(old.error));
    const garbage = compilePlugin(Buffer.from('not wasm'));
    assert.ok(!garbage.ok && /not a valid WebAssembly module/.test(garbage.error));
    assert.equal(compiled(readModule(compatPath('rust'))), compiled(readModule(compatPath('rust'))), 'compiled once, shared');
  });

  it('links imports it does not implement as UNIMPLEMENTED stubs (logged once)', async () => {
    const logs: LogLine[] = [];
    const plugin = compiled(
      await wat(`(module (import "env" "proxy_future_call" (func $f (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "malloc") (param i32) (result i32) (i32.const 1024))
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "_initialize") (i32.store (i32.const 0) (call $f (i32.const 1))) (drop (call $f (i32.const 2)))))`),
    );
    const vm = new PluginVm({ ...vmSettings({}, logs), compiled: plugin });
    assert.equal(vm.start(), undefined);
    assert.equal(vm.memory.read(0, 4)?.readUInt32LE(0), Status.UNIMPLEMENTED);
    assert.equal(logs.filter((l) => /proxy_future_call/.test(l.message)).length, 1);
  });

  it('on_configure returning false fails the plugin: no stream opens; the error is logged with the plugin name', () => {
    const logs: LogLine[] = [];
    const h = new PluginHandle(vmSettings({ pluginConfig: Buffer.from('{"fail":true}') }, logs), Promise.resolve(compilePlugin(readModule(compatPath('rust')))));
    return h.loaded().then(() => {
      assert.equal(h.state(), 'ready');
      assert.equal(h.openStream(FAILED), undefined);
      assert.match(h.error ?? '', /proxy_on_configure returned false/);
      assert.ok(logs.some((l) => l.level === 5 && l.plugin === 'default.test-plugin'));
    });
  });

  it('a trap fails only that stream; the next stream runs on a rebuilt VM (fresh memory), and repeated traps back off', async () => {
    let now = 1_000;
    const h = new PluginHandle(vmSettings(), Promise.resolve(compilePlugin(readModule(compatPath('rust')))), () => now);
    await h.loaded();
    const trap = (): FilterResult | Promise<FilterResult> => {
      const s = h.openStream(FAILED);
      if (!s) return CONTINUE;
      return s.onRequestHeaders(testRequest({ 'x-compat-trap': '1' }), true);
    };
    assert.equal(trap(), FAILED);
    assert.equal(h.builds, 1);
    const s = h.openStream(FAILED);
    assert.ok(s, 'rebuilt at once after the first failure');
    const ctx = testRequest();
    assert.equal(s.onRequestHeaders(ctx, true), CONTINUE);
    assert.equal(ctx.headers.get('x-compat-sdk'), 'rust');
    assert.equal(h.builds, 2);
    assert.equal(trap(), FAILED);
    assert.equal(h.openStream(FAILED), undefined, 'second failure in a row: rebuild waits (backoff)');
    now += 150;
    assert.ok(h.openStream(FAILED), 'after the backoff a VM is built again');
    h.close();
  });

  it('http_call flow: PAUSE, call attributed to the root, set_effective_context, continue or local reply (AssemblyScript authz sample)', async () => {
    const calls: HttpCallDispatcher = {
      resolve: (c) => (c.startsWith('outbound|') ? { describe: c } : undefined),
      send: async (_t, headers) => {
        const status = headers.find(([k]) => k === 'x-decision')?.[1] ?? '200';
        return { ok: true, headers: [[':status', status], ['x-echo-pod', 'default/authz-1']], body: Buffer.from('{}'), trailers: [] };
      },
    };
    const h = new PluginHandle(
      vmSettings({ pluginConfig: Buffer.from('{"cluster":"outbound|80||authz.default.svc.cluster.local","forwardHeader":"x-decision"}') }, [], calls),
      Promise.resolve(compilePlugin(readModule(pluginPath('http-authz')))),
    );
    await h.loaded();
    const allowed = testRequest({ 'x-decision': '200' });
    const r1 = h.openStream(FAILED)?.onRequestHeaders(allowed, true);
    assert.ok(r1 instanceof Promise, 'paused while the call runs');
    assert.equal(await r1, CONTINUE);
    assert.equal(allowed.headers.get('x-authz-checked-by'), 'default/authz-1');
    assert.equal(allowed.headers.has('x-decision'), false);
    const denied = await h.openStream(FAILED)?.onRequestHeaders(testRequest({ 'x-decision': '401' }), true);
    assert.ok(denied && denied.action === 'respond');
    assert.equal(denied.reply.status, 401);
    assert.equal(denied.reply.headers?.['x-authz-status'], '401');
    h.close();
  });

  it('the request counter sample: shared count, response header, 429 past the limit', async () => {
    const settings = vmSettings({ pluginConfig: Buffer.from('{"key":"k","limit":"2"}') });
    const h = new PluginHandle(settings, Promise.resolve(compilePlugin(readModule(pluginPath('request-counter')))));
    await h.loaded();
    const results: (number | string)[] = [];
    for (let i = 0; i < 3; i++) {
      const s = h.openStream(FAILED);
      assert.ok(s);
      const ctx = testRequest();
      const r = await s.onRequestHeaders(ctx, true);
      if (r.action === 'respond') results.push(r.reply.status);
      else {
        const res: ResponseContext = { status: 200, headers: new HeaderMap(), local: false };
        await s.onResponseHeaders(ctx, res, true);
        results.push(res.headers.get('x-request-count') ?? '-');
      }
      s.onStreamComplete(ctx);
    }
    assert.deepEqual(results, ['1', '2', 429]);
    assert.match(settings.metrics.exposition(), /^wasmcustom_requests_total 3$/m);
    h.close();
  });

  it('AssemblyScript exports called directly through @assemblyscript/loader', () => {
    // Every host call answers NOT_FOUND: no header is present.
    const noop = (): number => Status.NOT_FOUND;
    const env = new Proxy({}, { get: (_t, name) => (name === 'abort' ? () => undefined : noop) });
    const { exports } = instantiateSync<{ proxy_on_memory_allocate(n: number): number; proxy_on_context_create(id: number, parent: number): void; proxy_on_request_headers(id: number, n: number, eos: number): number }>(
      readModule(pluginPath('header-edit')),
      { env },
    );
    const a = exports.proxy_on_memory_allocate(24);
    const b = exports.proxy_on_memory_allocate(24);
    assert.ok(a > 0 && b >= a + 24, 'allocations do not overlap');
    assert.ok(exports.memory);
    exports.proxy_on_context_create(1, 0);
    exports.proxy_on_context_create(2, 1);
    assert.equal(exports.proxy_on_request_headers(2, 0, 1), 0, 'CONTINUE with host calls stubbed');
  });

  it('timers: proxy_set_tick_period_milliseconds drives proxy_on_tick on the root context', async () => {
    const plugin = compiled(
      await wat(`(module (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "malloc") (param i32) (result i32) (i32.const 1024))
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_configure") (param i32 i32) (result i32) (drop (call $tick (i32.const 5))) (i32.const 1))
        (func (export "proxy_on_tick") (param $root i32)
          (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
          (i32.store (i32.const 4) (local.get $root))))`),
    );
    const vm = new PluginVm({ ...vmSettings(), compiled: plugin });
    assert.equal(vm.start(), undefined);
    const { eventually } = await import('../helpers/eventually.js');
    await eventually(() => (vm.memory.read(0, 4)?.readUInt32LE(0) ?? 0) >= 2);
    assert.equal(vm.memory.read(4, 4)?.readUInt32LE(0), vm.rootContextId);
    vm.dispose();
  });

  it('a plugin that loops forever traps when its loop fuel runs out; the next stream gets a fresh VM', async () => {
    const bytes = await wat(`(module (memory (export "memory") 1)
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (if (i32.eqz (local.get 2)) (then (loop $forever (br $forever))))
        (i32.const 0)))`);
    const fueled = instrumentLoops(bytes);
    assert.ok(fueled.ok, fueled.ok ? '' : fueled.error);
    const logs: LogLine[] = [];
    const h = new PluginHandle(vmSettings({}, logs), Promise.resolve(compilePlugin(fueled.bytes)));
    await h.loaded();
    const t0 = Date.now();
    assert.equal(h.openStream(FAILED)?.onRequestHeaders(testRequest(), false), FAILED);
    assert.ok(Date.now() - t0 < 20_000, 'bounded');
    assert.ok(logs.some((l) => /unreachable/.test(l.message)));
    assert.equal(h.openStream(FAILED)?.onRequestHeaders(testRequest(), true), CONTINUE);
    assert.equal(h.builds, 2);
    h.close();
  });

  it('loop instrumentation keeps the sample plugins and compat modules working', async () => {
    for (const p of [pluginPath('header-edit'), compatPath('go-wasip1')]) {
      const r = instrumentLoops(readModule(p));
      assert.ok(r.ok, r.ok ? '' : r.error);
      const h = new PluginHandle(vmSettings(), Promise.resolve(compilePlugin(r.bytes)));
      await h.loaded();
      const ctx = testRequest();
      assert.equal(h.openStream(FAILED)?.onRequestHeaders(ctx, true), CONTINUE);
      assert.ok(ctx.headers.has('x-wasm-request') || ctx.headers.has('x-compat-sdk'));
      h.close();
    }
  });
});
