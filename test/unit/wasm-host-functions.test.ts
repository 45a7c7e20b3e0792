/**
 * Each proxy-wasm host function against its specified status codes and memory behaviour, called
 * directly on a VM built around a minimal module (its allocator counts calls at address 0, so
 * "zero-length results do not allocate" is observable).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { ResponseContext } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { Status } from '../../src/wasm/abi.js';
import { compilePlugin } from '../../src/wasm/compiled-plugin.js';
import type { CompiledPlugin } from '../../src/wasm/compiled-plugin.js';
import { parsePairs, serializePairs } from '../../src/wasm/header-pairs.js';
import type { HttpCallDispatcher } from '../../src/wasm/http-call.js';
import { WasmHttpStream } from '../../src/wasm/http-stream.js';
import { PluginVm } from '../../src/wasm/plugin-vm.js';
import { proxyImports } from '../../src/wasm/proxy-imports.js';
import { wasiImports } from '../../src/wasm/wasi-imports.js';
import type { LogLine } from '../helpers/wasm-modules.js';
import { testRequest, vmSettings, wat } from '../helpers/wasm-modules.js';

const PROBE = `(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_queue_ready") (param i32 i32) (i32.store (i32.const 8) (local.get 1))))`;

type Fn = (...args: (number | bigint)[]) => number;

describe('proxy-wasm host functions', () => {
  let compiled: CompiledPlugin;
  before(async () => {
    const r = compilePlugin(await wat(PROBE));
    assert.ok(r.ok);
    compiled = r.plugin;
  });

  function setup(calls?: HttpCallDispatcher, logs: LogLine[] = []) {
    const vm = new PluginVm({ ...vmSettings({}, logs, calls), compiled });
    assert.equal(vm.start(), undefined);
    const env = proxyImports(vm) as unknown as Record<string, Fn>;
    const f = (name: string): Fn => {
      const fn = env[name];
      assert.ok(fn, name);
      return fn;
    };
    const m = vm.memory;
    let cursor = 1024;
    const put = (data: string | Buffer): [number, number] => {
      const b = typeof data === 'string' ? Buffer.from(data) : data;
      const p = cursor;
      m.writeBytes(p, b);
      cursor += b.length + 8;
      return [p, b.length];
    };
    const u32 = (p: number): number => (m.read(p, 4) as Buffer).readUInt32LE(0);
    const out = (): Buffer => m.read(u32(200), u32(204)) as Buffer;
    const allocations = (): number => u32(0);
    return { vm, f, put, u32, out, allocations, m };
  }

  function withStream(vm: PluginVm, headers: Record<string, string> = { 'x-a': '1' }) {
    const ctx = testRequest(headers);
    const s = new WasmHttpStream(vm, respond({ status: 503 }));
    s.bindRequest(ctx);
    const id = vm.openStream(s);
    vm.effectiveContextId = id;
    return { s, ctx, id };
  }

  it('proxy_log: levels 0..5, BAD_ARGUMENT above, INVALID_MEMORY_ACCESS out of bounds; lines carry the plugin name', () => {
    const logs: LogLine[] = [];
    const { f, put } = setup(undefined, logs);
    const [p, n] = put('hello');
    assert.equal(f('proxy_log')(2, p, n), Status.OK);
    assert.equal(f('proxy_log')(6, p, n), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_log')(2, 70000, 10), Status.INVALID_MEMORY_ACCESS);
    assert.deepEqual(logs, [{ level: 2, plugin: 'default.test-plugin', message: 'hello' }]);
  });

  it('log level, time, tick period, effective context, done', () => {
    const { vm, f, u32, m } = setup();
    assert.equal(f('proxy_get_log_level')(300), Status.OK);
    assert.equal(u32(300), 0);
    assert.equal(f('proxy_get_current_time_nanoseconds')(304), Status.OK);
    const ns = (m.read(304, 8) as Buffer).readBigUInt64LE(0);
    assert.ok(Math.abs(Number(ns / 1_000_000n) - Date.now()) < 5_000);
    assert.equal(f('proxy_get_current_time_nanoseconds')(65535), Status.INVALID_MEMORY_ACCESS);
    assert.equal(f('proxy_set_tick_period_milliseconds')(0), Status.OK);
    assert.equal(f('proxy_set_effective_context')(vm.rootContextId), Status.OK);
    assert.equal(f('proxy_set_effective_context')(999), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_done')(), Status.NOT_FOUND);
  });

  it('header maps: pairs, value (first, NOT_FOUND), add/replace/remove, pseudo-headers, bad map type', () => {
    const { vm, f, put, u32, out, allocations } = setup();
    assert.equal(f('proxy_get_header_map_pairs')(0, 200, 204), Status.NOT_FOUND, 'no stream: no map');
    const { ctx } = withStream(vm, { 'x-a': '1', 'x-multi': 'a' });
    ctx.headers.append('x-multi', 'b');
    assert.equal(f('proxy_get_header_map_pairs')(0, 200, 204), Status.OK);
    const pairs = parsePairs(out());
    assert.deepEqual(pairs?.slice(0, 4), [
      [':authority', 'reviews.default.svc.cluster.local:9080'],
      [':path', '/test?q=1'],
      [':method', 'GET'],
      [':scheme', 'http'],
    ]);
    assert.deepEqual(pairs?.slice(4), [['x-a', '1'], ['x-multi', 'a'], ['x-multi', 'b']]);
    const [k, kn] = put('X-Multi');
    assert.equal(f('proxy_get_header_map_value')(0, k, kn, 200, 204), Status.OK);
    assert.equal(out().toString(), 'a', 'first value, name matched lower-cased');
    const [absent, an] = put('x-absent');
    assert.equal(f('proxy_get_header_map_value')(0, absent, an, 200, 204), Status.NOT_FOUND);
    assert.equal(f('proxy_get_header_map_value')(9, k, kn, 200, 204), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_get_header_map_value')(0, 70000, 3, 200, 204), Status.INVALID_MEMORY_ACCESS);
    const [v, vn] = put('c');
    assert.equal(f('proxy_add_header_map_value')(0, k, kn, v, vn), Status.OK);
    assert.deepEqual(ctx.headers.getAll('x-multi'), ['a', 'b', 'c']);
    assert.equal(f('proxy_replace_header_map_value')(0, k, kn, v, vn), Status.OK);
    assert.deepEqual(ctx.headers.getAll('x-multi'), ['c']);
    assert.equal(f('proxy_remove_header_map_value')(0, k, kn), Status.OK);
    assert.equal(f('proxy_remove_header_map_value')(0, k, kn), Status.OK, 'absent key is OK');
    assert.equal(ctx.headers.has('x-multi'), false);
    const [pk, pkn] = put(':path');
    const [pv, pvn] = put('/rewritten');
    assert.equal(f('proxy_replace_header_map_value')(0, pk, pkn, pv, pvn), Status.OK);
    assert.equal(ctx.path, '/rewritten');
    assert.equal(f('proxy_get_header_map_size')(0, 300), Status.OK);
    assert.ok(u32(300) > 0);
    const [sp, spn] = put(serializePairs([['x-only', 'yes']]));
    assert.equal(f('proxy_set_header_map_pairs')(0, sp, spn), Status.OK);
    assert.deepEqual(ctx.headers.toObject(), { 'x-only': 'yes' });
    const [bad, badn] = put(Buffer.from([5, 0, 0, 0, 1]));
    assert.equal(f('proxy_set_header_map_pairs')(0, bad, badn), Status.BAD_ARGUMENT);
    // Response map (2) does not exist before the response.
    assert.equal(f('proxy_get_header_map_pairs')(2, 200, 204), Status.NOT_FOUND);
    assert.ok(allocations() >= 1);
  });

  it('header values are bytes (Envoy): non-Latin-1 UTF-8 passes through unchanged; CR, LF, NUL are refused', () => {
    const { vm, f, put, out } = setup();
    const { ctx } = withStream(vm);
    const [k, kn] = put('x-name');
    const utf8 = Buffer.from('Zoë 北京', 'utf8');
    const [v, vn] = put(utf8);
    assert.equal(f('proxy_replace_header_map_value')(0, k, kn, v, vn), Status.OK);
    assert.deepEqual(Buffer.from(ctx.headers.get('x-name') ?? '', 'latin1'), utf8, 'held as the same bytes, as Node writes them');
    assert.equal(f('proxy_get_header_map_value')(0, k, kn, 200, 204), Status.OK);
    assert.deepEqual(out(), utf8, 'read back byte for byte');
    ctx.headers.set('x-in', Buffer.from('café', 'utf8').toString('latin1'));
    const [ik, ikn] = put('x-in');
    assert.equal(f('proxy_get_header_map_value')(0, ik, ikn, 200, 204), Status.OK);
    assert.equal(out().toString('utf8'), 'café', 'bytes that arrived from the client reach the plugin unchanged');
    for (const evil of ['a\rb', 'a\nb', 'a\0b']) {
      const [e, en] = put(evil);
      assert.equal(f('proxy_add_header_map_value')(0, k, kn, e, en), Status.BAD_ARGUMENT, JSON.stringify(evil));
    }
  });

  it('empty results write (0, 0) without allocating', () => {
    const { vm, f, u32, allocations } = setup();
    withStream(vm, {});
    const s = vm.effectiveStream() as WasmHttpStream;
    const before = allocations();
    // The request body exists (empty): reading it returns (0, 0).
    void s;
    assert.equal(f('proxy_get_buffer_bytes')(0, 0, 100, 200, 204), Status.OK);
    assert.equal(u32(200), 0);
    assert.equal(u32(204), 0);
    assert.equal(allocations(), before);
  });

  it('buffers: NOT_FOUND when absent, clamped reads, prepend/replace/append only', () => {
    const { vm, f, put, out, u32 } = setup();
    assert.equal(f('proxy_get_buffer_bytes')(0, 0, 10, 200, 204), Status.NOT_FOUND);
    assert.equal(f('proxy_get_buffer_bytes')(9, 0, 10, 200, 204), Status.BAD_ARGUMENT);
    withStream(vm, {});
    const body = vm.buffer(0);
    assert.ok(body);
    body.data = Buffer.from('hello world');
    assert.equal(f('proxy_get_buffer_bytes')(0, 6, 100, 200, 204), Status.OK);
    assert.equal(out().toString(), 'world');
    assert.equal(f('proxy_get_buffer_bytes')(0, 50, 10, 200, 204), Status.OK, 'start past the end: empty, OK');
    assert.equal(u32(204), 0);
    assert.equal(f('proxy_get_buffer_bytes')(0, 0xfffffff0, 0x100, 200, 204), Status.BAD_ARGUMENT, 'start + len overflows');
    assert.equal(f('proxy_get_buffer_status')(0, 300, 304), Status.OK);
    assert.equal(u32(300), 11);
    assert.equal(u32(304), 0);
    const [p, n] = put('>>');
    assert.equal(f('proxy_set_buffer_bytes')(0, 0, 0, p, n), Status.OK);
    assert.equal(body.data.toString(), '>>hello world');
    assert.equal(f('proxy_set_buffer_bytes')(0, 100, 0, p, n), Status.OK);
    assert.equal(body.data.toString(), '>>hello world>>');
    assert.equal(f('proxy_set_buffer_bytes')(0, 3, 2, p, n), Status.BAD_ARGUMENT, 'a middle splice is not supported (Envoy)');
    assert.equal(f('proxy_set_buffer_bytes')(0, 0, 1000, p, n), Status.OK);
    assert.equal(body.data.toString(), '>>');
    assert.equal(f('proxy_set_buffer_bytes')(0, 0, 0, 70000, 5), Status.INVALID_MEMORY_ACCESS);
  });

  it('shared data: NOT_FOUND, cas from 1, CAS_MISMATCH, unconditional with cas 0', () => {
    const { f, put, u32, out } = setup();
    const [k, kn] = put('counter');
    const [v1, v1n] = put('one');
    const [v2, v2n] = put('two');
    assert.equal(f('proxy_get_shared_data')(k, kn, 200, 204, 208), Status.NOT_FOUND);
    assert.equal(f('proxy_set_shared_data')(k, kn, v1, v1n, 7), Status.CAS_MISMATCH, 'cas on an absent key');
    assert.equal(f('proxy_set_shared_data')(k, kn, v1, v1n, 0), Status.OK);
    assert.equal(f('proxy_get_shared_data')(k, kn, 200, 204, 208), Status.OK);
    assert.equal(out().toString(), 'one');
    assert.equal(u32(208), 1);
    assert.equal(f('proxy_set_shared_data')(k, kn, v2, v2n, 5), Status.CAS_MISMATCH);
    assert.equal(f('proxy_set_shared_data')(k, kn, v2, v2n, 1), Status.OK);
    assert.equal(f('proxy_get_shared_data')(k, kn, 200, 204, 208), Status.OK);
    assert.equal(out().toString(), 'two');
    assert.equal(u32(208), 2);
  });

  it('shared queues: register, resolve, enqueue → on_queue_ready, dequeue EMPTY / NOT_FOUND', async () => {
    const { f, put, u32, out } = setup();
    const [n, nn] = put('jobs');
    const [vm0, vmn] = put('');
    assert.equal(f('proxy_register_shared_queue')(n, nn, 300), Status.OK);
    const id = u32(300);
    assert.equal(f('proxy_resolve_shared_queue')(vm0, vmn, n, nn, 304), Status.OK);
    assert.equal(u32(304), id);
    const [other, on] = put('nope');
    assert.equal(f('proxy_resolve_shared_queue')(vm0, vmn, other, on, 304), Status.NOT_FOUND);
    assert.equal(f('proxy_dequeue_shared_queue')(id, 200, 204), Status.EMPTY);
    assert.equal(f('proxy_dequeue_shared_queue')(999, 200, 204), Status.NOT_FOUND);
    const [v, vn] = put('job-1');
    assert.equal(f('proxy_enqueue_shared_queue')(id, v, vn), Status.OK);
    assert.equal(f('proxy_enqueue_shared_queue')(999, v, vn), Status.NOT_FOUND);
    await new Promise((r) => setImmediate(r));
    assert.equal(u32(8), id, 'proxy_on_queue_ready(root, id) ran after the enqueue');
    assert.equal(f('proxy_dequeue_shared_queue')(id, 200, 204), Status.OK);
    assert.equal(out().toString(), 'job-1');
  });

  it('metrics: types, counter rules, gauges, histograms, get', () => {
    const { f, put, u32, m } = setup();
    const [n, nn] = put('wasmcustom.hits');
    assert.equal(f('proxy_define_metric')(3, n, nn, 300), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_define_metric')(0, n, nn, 300), Status.OK);
    const counter = u32(300);
    assert.equal(f('proxy_define_metric')(0, n, nn, 304), Status.OK);
    assert.equal(u32(304), counter, 'ids are stable per name');
    assert.equal(f('proxy_increment_metric')(counter, 0n), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_increment_metric')(counter, -1n), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_increment_metric')(counter, 5n), Status.OK);
    assert.equal(f('proxy_record_metric')(counter, 2n), Status.OK, 'record adds to a counter (Envoy)');
    assert.equal(f('proxy_get_metric')(counter, 400), Status.OK);
    assert.equal((m.read(400, 8) as Buffer).readBigUInt64LE(0), 7n);
    const [g, gn] = put('wasmcustom.level');
    f('proxy_define_metric')(1, g, gn, 300);
    const gauge = u32(300);
    assert.equal(f('proxy_record_metric')(gauge, 10n), Status.OK);
    assert.equal(f('proxy_increment_metric')(gauge, -3n), Status.OK, 'gauges go down');
    f('proxy_get_metric')(gauge, 400);
    assert.equal((m.read(400, 8) as Buffer).readBigUInt64LE(0), 7n);
    const [h, hn] = put('wasmcustom.latency');
    f('proxy_define_metric')(2, h, hn, 300);
    const hist = u32(300);
    assert.equal(f('proxy_increment_metric')(hist, 1n), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_record_metric')(hist, 12n), Status.OK);
    assert.equal(f('proxy_get_metric')(hist, 400), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_get_metric')(12345, 400), Status.NOT_FOUND);
  });

  it('properties: Envoy encodings, NOT_FOUND for unknown paths, set/get round trip in filter state', () => {
    const { vm, f, put, out } = setup();
    const get = (path: string): Buffer | number => {
      const [p, n] = put(path);
      const s = f('proxy_get_property')(p, n, 200, 204);
      return s === Status.OK ? out() : s;
    };
    assert.equal((get('plugin_name') as Buffer).toString(), 'default.test-plugin');
    assert.equal((get('plugin_root_id') as Buffer).toString(), 'root');
    assert.equal((get('node\0metadata\0NAMESPACE') as Buffer).toString(), 'default');
    assert.equal(get('request\0path'), Status.NOT_FOUND, 'no stream: no request');
    assert.equal(get('no\0such\0thing'), Status.NOT_FOUND);
    withStream(vm, { 'user-agent': 'curl/8' });
    assert.equal((get('request\0path\0') as Buffer).toString(), '/test?q=1', 'a trailing NUL is accepted');
    assert.equal((get('request\0url_path') as Buffer).toString(), '/test');
    assert.equal((get('request\0useragent') as Buffer).toString(), 'curl/8');
    assert.equal((get('destination\0port') as Buffer).readBigInt64LE(0), 9080n, 'ints are 8-byte LE');
    assert.deepEqual([...(get('connection\0mtls') as Buffer)], [1], 'bools are one byte');
    const headers = parsePairs(get('request\0headers') as Buffer);
    assert.deepEqual(headers, [['user-agent', 'curl/8']]);
    const [p, n] = put('my_key');
    const [v, vn] = put('my-value');
    assert.equal(f('proxy_set_property')(p, n, v, vn), Status.OK);
    assert.equal((get('my_key') as Buffer).toString(), 'my-value');
    const [rp, rn] = put('request\0path');
    assert.equal(f('proxy_set_property')(rp, rn, v, vn), Status.BAD_ARGUMENT, 'reserved paths are read-only');
  });

  it('stream control: continue/close BAD_ARGUMENT above 3; local reply validates headers', () => {
    const { vm, f, put } = setup();
    assert.equal(f('proxy_continue_stream')(0), Status.NOT_FOUND, 'no stream');
    withStream(vm);
    assert.equal(f('proxy_continue_stream')(4), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_continue_stream')(0), Status.OK);
    assert.equal(f('proxy_close_stream')(7), Status.BAD_ARGUMENT);
    const [d, dn] = put('details');
    const [b, bn] = put('body');
    const [bad, badn] = put(Buffer.from([9, 0, 0, 0]));
    assert.equal(f('proxy_send_local_response')(403, d, dn, b, bn, bad, badn, -1), Status.BAD_ARGUMENT);
    const [h, hn] = put(serializePairs([['X-Reason', 'test']]));
    assert.equal(f('proxy_send_local_response')(403, d, dn, b, bn, h, hn, -1), Status.OK);
  });

  it('http_call: BAD_ARGUMENT without :method/:path/:authority or for an unknown cluster; a token otherwise; status after failure', async () => {
    const seen: string[] = [];
    const calls: HttpCallDispatcher = {
      resolve: (c) => (c === 'outbound|80||authz.default.svc.cluster.local' ? { describe: c } : undefined),
      send: async (_t, headers) => {
        seen.push(headers.map(([k, v]) => `${k}=${v}`).join('&'));
        return { ok: false, reason: 'reset' };
      },
    };
    const { f, put, u32, out } = setup(calls);
    const [c, cn] = put('outbound|80||authz.default.svc.cluster.local');
    const [unknown, un] = put('outbound|80||nope.default.svc.cluster.local');
    const [h, hn] = put(serializePairs([[':method', 'GET'], [':path', '/check'], [':authority', 'authz']]));
    const [noPath, npn] = put(serializePairs([[':method', 'GET'], [':authority', 'authz']]));
    const [e, en] = put('');
    assert.equal(f('proxy_http_call')(c, cn, noPath, npn, e, en, e, en, 1000, 300), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_http_call')(unknown, un, h, hn, e, en, e, en, 1000, 300), Status.BAD_ARGUMENT);
    assert.equal(f('proxy_http_call')(c, cn, h, hn, e, en, e, en, 1000, 300), Status.OK);
    assert.ok(u32(300) > 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [':method=GET&:path=/check&:authority=authz']);
    assert.equal(f('proxy_get_status')(304, 200, 204), Status.OK);
    assert.equal(u32(304), Status.BROKEN_CONNECTION);
    assert.equal(out().toString(), 'reset');
  });

  it('WASI: stdout/stderr to the log, env from vmConfig only, no files, clocks, random bounds, poll_oneoff succeeds', () => {
    const logs: LogLine[] = [];
    const vm = new PluginVm({ ...vmSettings({ env: new Map([['GREETING', 'hi']]) }, logs), compiled });
    assert.equal(vm.start(), undefined);
    const w = wasiImports({ memory: vm.memory, env: new Map([['GREETING', 'hi']]), stdio: (fd, text) => vm.log(fd === 1 ? 2 : 4, text) }) as unknown as Record<string, Fn>;
    const m = vm.memory;
    m.writeBytes(1024, Buffer.from('to stdout\n'));
    m.writeU32(500, 1024);
    m.writeU32(504, 10);
    assert.equal(w['fd_write']?.(1, 500, 1, 508), 0);
    assert.equal(w['fd_write']?.(3, 500, 1, 508), 8);
    assert.deepEqual(logs.at(-1), { level: 2, plugin: 'default.test-plugin', message: 'to stdout' });
    assert.equal(w['environ_sizes_get']?.(600, 604), 0);
    assert.deepEqual([(m.read(600, 4) as Buffer).readUInt32LE(0), (m.read(604, 4) as Buffer).readUInt32LE(0)], [1, 'GREETING=hi\0'.length]);
    assert.equal(w['environ_get']?.(700, 800), 0);
    assert.equal((m.read(800, 11) as Buffer).toString(), 'GREETING=hi');
    assert.equal(w['fd_prestat_get']?.(3, 900), 8);
    assert.equal(w['fd_read']?.(0, 0, 0, 0), 52);
    assert.equal(w['clock_time_get']?.(0, 1n, 900), 0);
    assert.equal(w['clock_time_get']?.(7, 1n, 900), 58);
    assert.equal(w['random_get']?.(900, 16), 0);
    assert.equal(w['random_get']?.(900, 70000), 28);
    assert.equal(w['poll_oneoff']?.(0, 0, 0, 0), 0);
    assert.equal(w['fd_fdstat_get']?.(1, 900), 0);
    assert.equal(w['fd_fdstat_get']?.(5, 900), 8);
    assert.throws(() => w['proc_exit']?.(3), /proc_exit\(3\)/);
  });

  it('a stream paused in request headers resumes on continue_stream from a later callback', async () => {
    const { vm } = setup();
    const s = new WasmHttpStream(vm, respond({ status: 503 }));
    const ctx = testRequest();
    // No proxy_on_request_headers export: CONTINUE at once.
    assert.equal(s.onRequestHeaders(ctx, true), CONTINUE);
    const res: ResponseContext = { status: 200, headers: new HeaderMap(), local: false };
    assert.equal(s.onResponseHeaders(ctx, res, true), CONTINUE);
    s.onStreamComplete();
  });
});
