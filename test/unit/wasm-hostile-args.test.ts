/**
 * What the Wasm host fuzz target (test/fuzz/wasm-host-fuzz.ts) found, pinned as regressions, and
 * the header rules plugins are held to: header names and values that Node's http would refuse
 * (CR, LF, NUL, invalid names) are answered with BAD_ARGUMENT at the call and change nothing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, describe, it } from 'node:test';
import { respond } from '../../src/filter/api.js';
import type { ResponseContext } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { Errno, Status } from '../../src/wasm/abi.js';
import { compilePlugin } from '../../src/wasm/compiled-plugin.js';
import type { CompiledPlugin } from '../../src/wasm/compiled-plugin.js';
import { serializePairs } from '../../src/wasm/header-pairs.js';
import { validHeaderName, validHeaderValue } from '../../src/wasm/header-validation.js';
import { WasmHttpStream } from '../../src/wasm/http-stream.js';
import type { PluginLocalReply } from '../../src/wasm/plugin-vm.js';
import { PluginVm } from '../../src/wasm/plugin-vm.js';
import { proxyImports } from '../../src/wasm/proxy-imports.js';
import { wasiImports } from '../../src/wasm/wasi-imports.js';
import { testRequest, vmSettings, wat } from '../helpers/wasm-modules.js';

const MODULE = `(module (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 8192))
  (func (export "proxy_abi_version_0_2_1")))`;

type Fn = (...args: number[]) => number;

describe('Wasm host: hostile arguments', () => {
  let compiled: CompiledPlugin;
  before(async () => {
    const r = compilePlugin(await wat(MODULE));
    assert.ok(r.ok);
    compiled = r.plugin;
  });

  function setup() {
    const vm = new PluginVm({ ...vmSettings(), compiled });
    assert.equal(vm.start(), undefined);
    const env = proxyImports(vm) as unknown as Record<string, Fn>;
    const f = (name: string): Fn => env[name] as Fn;
    let cursor = 1024;
    const put = (data: string | Buffer): [number, number] => {
      const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      const p = cursor;
      vm.memory.writeBytes(p, b);
      cursor += b.length + 8;
      return [p, b.length];
    };
    const ctx = testRequest({ 'x-a': '1' });
    const replies: PluginLocalReply[] = [];
    const s = new WasmHttpStream(vm, respond({ status: 503 }));
    s.sendLocalReply = (r) => void replies.push(r);
    s.onRequestHeaders(ctx, false);
    const res: ResponseContext = { status: 200, headers: new HeaderMap(), local: false };
    s.onResponseHeaders(ctx, res, false);
    // The first stream context after the root: the host functions act on it.
    vm.effectiveContextId = vm.rootContextId + 1;
    return { vm, f, put, ctx, res, replies };
  }

  it('validHeaderName / validHeaderValue follow what Node http can write', () => {
    for (const n of ['x-a', 'X-Upper', ':path', ':status', "a!#$%&'*+-.^_`|~9"]) assert.ok(validHeaderName(n), n);
    for (const n of ['', 'bad name', 'a:b', 'x\r\n', 'n\0', ':', '€', 'a\tb']) assert.equal(validHeaderName(n), false, JSON.stringify(n));
    for (const v of ['', 'plain', 'tab\tok', 'caf\u00e9', 'x'.repeat(10_000)]) assert.ok(validHeaderValue('x-a', v), v);
    for (const v of ['a\r\nx-injected: 1', 'a\nb', 'a\rb', 'nul\0', '\x01', '\x7f', '€']) assert.equal(validHeaderValue('x-a', v), false, JSON.stringify(v));
    assert.equal(validHeaderValue(':path', '/with space'), false);
    assert.equal(validHeaderValue(':authority', ''), false);
    assert.ok(validHeaderValue(':path', '/ok?x=1'));
    // Whatever passes is accepted by Node (the point of checking at the host).
    for (const [n, v] of [['x-a', 'caf\u00e9'], ['x-b', 'tab\tok']] as const) {
      http.validateHeaderName(n);
      http.validateHeaderValue(n, v);
    }
  });

  it('add / replace with CR, LF, NUL or an invalid name: BAD_ARGUMENT, nothing changed (request and response maps)', () => {
    const { f, put, ctx, res } = setup();
    const [k, kn] = put('x-evil');
    for (const type of [0, 2]) {
      for (const bad of ['a\r\nx-injected: 1', 'a\nb', 'nul\0byte', '\x01']) {
        const [v, vn] = put(bad);
        assert.equal(f('proxy_add_header_map_value')(type, k, kn, v, vn), Status.BAD_ARGUMENT, `${type} add ${JSON.stringify(bad)}`);
        assert.equal(f('proxy_replace_header_map_value')(type, k, kn, v, vn), Status.BAD_ARGUMENT, `${type} replace ${JSON.stringify(bad)}`);
      }
      const [v, vn] = put('fine');
      for (const badName of ['bad name', '', 'x\r\ny', 'n\0']) {
        const [bk, bkn] = put(badName);
        assert.equal(f('proxy_add_header_map_value')(type, bk, bkn, v, vn), Status.BAD_ARGUMENT, JSON.stringify(badName));
        assert.equal(f('proxy_replace_header_map_value')(type, bk, bkn, v, vn), Status.BAD_ARGUMENT, JSON.stringify(badName));
      }
      assert.equal(f('proxy_add_header_map_value')(type, k, kn, v, vn), Status.OK, 'a valid edit still works');
    }
    assert.deepEqual(ctx.headers.getAll('x-evil'), ['fine']);
    assert.equal(ctx.headers.has('x-injected'), false);
    assert.deepEqual(res.headers.getAll('x-evil'), ['fine']);
    const [pk, pkn] = put(':path');
    const [pv, pvn] = put('/a b');
    assert.equal(f('proxy_replace_header_map_value')(0, pk, pkn, pv, pvn), Status.BAD_ARGUMENT);
    assert.equal(ctx.path, '/test?q=1');
    const [ak, akn] = put(':authority');
    const [av, avn] = put('evil\r\nhost');
    assert.equal(f('proxy_replace_header_map_value')(0, ak, akn, av, avn), Status.BAD_ARGUMENT);
    assert.equal(ctx.authority, 'reviews.default.svc.cluster.local:9080');
  });

  it('set_header_map_pairs with one bad pair: BAD_ARGUMENT, the map is left as it was', () => {
    const { f, put, ctx } = setup();
    for (const pairs of [
      [['x-ok', '1'], ['x-bad', 'a\r\nb']],
      [['x-ok', '1'], ['bad name', 'v']],
      [['x-nul', 'a\0']],
    ] as const) {
      const [p, n] = put(serializePairs(pairs));
      assert.equal(f('proxy_set_header_map_pairs')(0, p, n), Status.BAD_ARGUMENT, JSON.stringify(pairs));
    }
    assert.deepEqual(ctx.headers.toObject(), { 'x-a': '1' });
  });

  it('local replies with bad or pseudo header names, or CR/LF values, are refused', () => {
    const { f, put, replies } = setup();
    const [d, dn] = put('');
    const [b, bn] = put('denied');
    for (const pairs of [[['x-r', 'a\r\nb']], [[':status', '200']], [['bad name', 'v']]] as const) {
      const [h, hn] = put(serializePairs(pairs));
      assert.equal(f('proxy_send_local_response')(403, d, dn, b, bn, h, hn, -1), Status.BAD_ARGUMENT, JSON.stringify(pairs));
    }
    assert.equal(replies.length, 0);
    const [h, hn] = put(serializePairs([['x-r', 'ok']]));
    assert.equal(f('proxy_send_local_response')(403, d, dn, b, bn, h, hn, -1), Status.OK);
    assert.equal(replies.length, 1);
  });

  it('WASI: a negative random_get length and an iovec count that wraps are EINVAL, not a host exception (fuzz findings)', () => {
    const { vm } = setup();
    const wasi = wasiImports({ memory: vm.memory, env: new Map(), stdio: () => undefined }) as unknown as Record<string, Fn>;
    assert.equal((wasi['random_get'] as Fn)(1024, -1), Errno.INVAL);
    assert.equal((wasi['random_get'] as Fn)(200, -8), Errno.INVAL);
    // 2^29 iovecs: `count * 8` is 2^32, which read as a u32 length is 0.
    assert.equal((wasi['fd_write'] as Fn)(2, 200, 0x20000000, 65532), Errno.INVAL);
    assert.equal((wasi['fd_write'] as Fn)(1, 200, -1, 300), Errno.INVAL);
  });

  it('a tick period past 2^31-1 ms is clamped, not turned into 1 ms by Node (fuzz finding)', async () => {
    const plugin = compilePlugin(
      await wat(`(module (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "malloc") (param i32) (result i32) (i32.const 1024))
        (func (export "proxy_abi_version_0_2_1"))
        (func (export "proxy_on_configure") (param i32 i32) (result i32) (drop (call $tick (i32.const -1))) (i32.const 1))
        (func (export "proxy_on_tick") (param i32) (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))))`),
    );
    assert.ok(plugin.ok);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const vm = new PluginVm({ ...vmSettings(), compiled: plugin.plugin });
    try {
      assert.equal(vm.start(), undefined);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(vm.memory.read(0, 4)?.readUInt32LE(0), 0, 'no ticks within 100 ms');
      assert.equal(warnings.includes('TimeoutOverflowWarning'), false);
    } finally {
      vm.dispose();
      process.off('warning', onWarning);
    }
  });
});
