/**
 * Fuzz target for the proxy-wasm host (issue 11 §4): a plugin calling host functions with hostile
 * pointers and sizes. The plugin is a generated module that imports every `env.proxy_*` and WASI
 * function the host provides (with the ABI's signatures) and exports one trampoline per import, so
 * each call crosses the real Wasm boundary (i32 arguments arrive signed, i64 as BigInt) into the
 * host linked by `buildImports`, against the plugin's own linear memory. Its allocator can be
 * turned hostile (returns a chosen pointer, or grows memory under the host's feet).
 *
 * Properties, per call: the host returns a status code of its ABI (never throws, never answers
 * something else); the VM is not marked failed; afterwards the stream's request and response
 * headers are all writable by Node's http (names, values, `:path`, `:authority`, status). Every
 * stream opened runs the plugin's `on_request_headers`, which adds `x-fuzzed: 1`: the VM still
 * serves a normal request after whatever came before.
 */
import http from 'node:http';
import type { RequestContext, ResponseContext } from '../../src/filter/api.js';
import { respond } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { Errno, MAX_MAP_BYTES, Status } from '../../src/wasm/abi.js';
import { compilePlugin } from '../../src/wasm/compiled-plugin.js';
import type { CompiledPlugin } from '../../src/wasm/compiled-plugin.js';
import { serializePairs } from '../../src/wasm/header-pairs.js';
import type { HttpCallDispatcher } from '../../src/wasm/http-call.js';
import { WasmHttpStream } from '../../src/wasm/http-stream.js';
import type { PluginLocalReply } from '../../src/wasm/plugin-vm.js';
import { PluginVm } from '../../src/wasm/plugin-vm.js';
import { testRequest, vmSettings, wat } from '../helpers/wasm-modules.js';
import type { FuzzTarget } from './fuzz-targets.js';
import type { HostCall } from './wasm-fuzz-plugin.js';
import { CALLS, DATA_END, DATA_START, FUZZED_NAME, HEAP_START, moduleText, VOID } from './wasm-fuzz-plugin.js';
import type { Mutator } from './mutator.js';

const STATUSES = new Set<number>(Object.values(Status));
const ERRNOS = new Set<number>(Object.values(Errno));

/** Strings a hostile plugin would try: pseudo-headers, injections, property paths, huge names. */
const WORDS = [
  ':path',
  ':authority',
  ':method',
  ':status',
  ':scheme',
  'host',
  'x-a',
  'X-Multi',
  'content-length',
  'transfer-encoding',
  'a\r\nx-injected: 1',
  'bad name',
  'v\0nul',
  'line\nfeed',
  '',
  '€uro',
  '\u00e9t\u00e9',
  'request\0path',
  'source\0address',
  'plugin_root_id',
  'outbound|80||echo',
  'q',
  '/ok?x=1',
  '/with space',
  'x'.repeat(5000),
];

interface State {
  vm: PluginVm;
  stream: WasmHttpStream;
  request: RequestContext;
  response: ResponseContext;
  replies: PluginLocalReply[];
  streamId: number;
  exports: WebAssembly.Exports;
}

class RecordingStream extends WasmHttpStream {
  constructor(
    vm: PluginVm,
    private readonly replies: PluginLocalReply[],
  ) {
    super(vm, respond({ status: 503 }));
  }
  override sendLocalReply(reply: PluginLocalReply): void {
    this.replies.push(reply);
    super.sendLocalReply(reply);
  }
}

/** One http_call cluster resolves; sending fails at once, without a network. */
const FAKE_CALLS: HttpCallDispatcher = {
  resolve: (c) => (c === 'outbound|80||echo' ? { describe: 'fake' } : undefined),
  send: async () => ({ ok: false, reason: 'fuzz' }),
};

let compiled: CompiledPlugin | undefined;

function nodeAccepts(name: string, value: string): string | undefined {
  try {
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    return undefined;
  } catch (err) {
    return `header ${JSON.stringify(name)}: ${JSON.stringify(value.slice(0, 80))} would throw in Node: ${(err as Error).message}`;
  }
}

function proxyIntact(s: State): string | undefined {
  for (const [k, v] of s.request.headers) for (const x of typeof v === 'string' ? [v] : v) {
    const p = nodeAccepts(k, x);
    if (p) return `request ${p}`;
  }
  for (const [k, v] of s.response.headers) for (const x of typeof v === 'string' ? [v] : v) {
    const p = nodeAccepts(k, x);
    if (p) return `response ${p}`;
  }
  if (s.request.path === '' || /[^\x21-\xff]/.test(s.request.path)) return `:path ${JSON.stringify(s.request.path)} would throw in Node`;
  if (s.request.authority === '' || /[^\x21-\xff]/.test(s.request.authority)) return `:authority ${JSON.stringify(s.request.authority)} is not writable`;
  if (!Number.isInteger(s.response.status) || s.response.status < 100 || s.response.status > 999) return `response status ${s.response.status}`;
  for (const r of s.replies) {
    if (r.status < 100 || r.status > 999) return `local reply status ${r.status}`;
    for (const [k, v] of r.headers) {
      const p = nodeAccepts(k, v);
      if (p) return `local reply ${p}`;
    }
  }
  return undefined;
}

function newVm(): PluginVm {
  if (!compiled) throw new Error('wasm-host target not prepared');
  const vm = new PluginVm({ ...vmSettings({ logLevel: 5, vmConfig: Buffer.from('{"vm":1}'), pluginConfig: Buffer.from('cfg') }, [], FAKE_CALLS), compiled });
  const err = vm.start();
  if (err) throw new Error(`fuzz plugin failed to start: ${err}`);
  return vm;
}

/** Opens a stream (a normal request through the plugin) and checks the plugin served it. */
function openStream(vm: PluginVm, exports: WebAssembly.Exports): State | string {
  const replies: PluginLocalReply[] = [];
  const stream = new RecordingStream(vm, replies);
  const request = testRequest({ 'x-a': '1', 'x-multi': 'a' });
  const r = stream.onRequestHeaders(request, false);
  if (r instanceof Promise || r.action !== 'continue') return `a normal request was not continued (${r instanceof Promise ? 'paused' : r.action})`;
  if (request.headers.getAll(FUZZED_NAME)[0] !== '1') return `a normal request did not get ${FUZZED_NAME}: 1 (${vm.failure ?? 'VM alive'})`;
  const response: ResponseContext = { status: 200, headers: HeaderMap.fromNode({ 'content-type': 'text/plain' }), local: false };
  stream.onResponseHeaders(request, response, false);
  const streamId = (exports['fuzz_last_context'] as () => number)();
  return { vm, stream, request, response, replies, streamId, exports };
}

let state: State | undefined;

/** Lays out an input region; returns its pointer and length. */
function layout(m: Mutator, mem: WebAssembly.Memory, cursor: { at: number }): [number, number] {
  let data: Buffer;
  const k = m.int(5);
  if (k === 0) data = Buffer.from(m.pick(WORDS), 'utf8');
  else if (k === 1) data = serializePairs(Array.from({ length: 1 + m.int(3) }, () => [m.pick(WORDS), m.pick(WORDS)] as const));
  else if (k === 2) data = m.mutate(serializePairs([[m.pick(WORDS), m.pick(WORDS)]]));
  else if (k === 3) data = Buffer.from(m.string(32), 'latin1');
  else {
    // A length table promising more than follows (or a count of 2^32-1).
    data = Buffer.alloc(12);
    data.writeUInt32LE(m.chance(0.5) ? 0xffffffff : 1 + m.int(4), 0);
    data.writeUInt32LE(m.chance(0.5) ? 0xffffffff : m.int(100), 4);
    data.writeUInt32LE(m.int(100), 8);
  }
  data = data.subarray(0, Math.min(data.length, 8192));
  if (cursor.at + data.length > DATA_END) cursor.at = DATA_START;
  const p = cursor.at;
  new Uint8Array(mem.buffer, p, data.length).set(data);
  cursor.at += data.length + m.int(8);
  return [p, data.length];
}

function i32(x: number): number {
  return x | 0;
}

function args(m: Mutator, roles: string, mem: WebAssembly.Memory, cursor: { at: number }): (number | bigint)[] {
  const size = mem.buffer.byteLength;
  const out: (number | bigint)[] = [];
  let last: [number, number] | undefined;
  const ptrs: number[] = [];
  for (const r of roles) {
    if (r === 'p') {
      const kind = m.int(10);
      if (kind < 4) {
        last = layout(m, mem, cursor);
        out.push(last[0]);
      } else {
        last = undefined;
        const p =
          kind === 4 && ptrs.length > 0
            ? m.pick(ptrs) + m.int(3) // overlapping another argument
            : m.pick([0, 4, 200, size - 1, size - 4, size - 8, size, size + 4, 0x7fffffff, -1, -4, -8, m.int(size), HEAP_START - 2]);
        out.push(i32(p));
      }
      ptrs.push(out[out.length - 1] as number);
    } else if (r === 'n') {
      const n = last && m.chance(0.6) ? last[1] : m.pick([0, 1, 4, 8, 255, size, size + 1, MAX_MAP_BYTES + 1, 0x7fffffff, -1, -8, 0x20000000, 0x1fffffff, m.int(64)]);
      out.push(i32(n));
      last = undefined;
    } else if (r === 't') {
      out.push(i32(m.pick([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 0x7fffffff, -0x80000000, m.int(16)])));
    } else if (r === 'v') {
      out.push(i32(m.pick([-1, 0, 1, 2, 100, 200, 403, 999, 1000, 0x7fffffff, -0x80000000, m.int(1 << 30)])));
    } else {
      out.push(m.pick([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(m.int(1 << 30))]));
    }
  }
  return out;
}

export const wasmHostTarget: FuzzTarget = {
  name: 'wasm-host',
  async prepare(): Promise<void> {
    if (compiled) return;
    const r = compilePlugin(await wat(moduleText()));
    if (!r.ok) throw new Error(r.error);
    compiled = r.plugin;
  },
  one(m) {
    if (!state || m.chance(0.05)) {
      if (state) {
        state.stream.onStreamComplete();
        state.vm.dispose();
      }
      const vm = newVm();
      const exports = (vm as unknown as { exports: WebAssembly.Exports }).exports;
      const s = openStream(vm, exports);
      if (typeof s === 'string') {
        state = undefined;
        return { input: 'fresh VM', problem: s };
      }
      state = s;
    } else if (m.chance(0.1)) {
      // Close this stream and serve a new, normal request on the same VM.
      state.stream.onStreamComplete();
      const s = openStream(state.vm, state.exports);
      if (typeof s === 'string') {
        const old = state;
        state = undefined;
        old.vm.dispose();
        return { input: 'stream reopened after fuzzing', problem: s };
      }
      state = s;
    }
    const st = state;
    const mem = st.exports['memory'] as WebAssembly.Memory;
    const cursor = { at: DATA_START };
    const trace: string[] = [];
    const setAlloc = st.exports['fuzz_set_alloc'] as (mode: number, p: number) => void;
    setAlloc(m.chance(0.8) ? 0 : 1 + m.int(2), i32(m.pick([0, 4, 0x7fffffff, -1, mem.buffer.byteLength - 2, HEAP_START])));
    st.vm.currentContextId = st.streamId;
    st.vm.effectiveContextId = m.chance(0.9) ? st.streamId : st.vm.rootContextId;
    let problem: string | undefined;
    for (let k = 1 + m.int(6); k > 0 && !problem; k--) {
      const idx = m.int(CALLS.length);
      const c = CALLS[idx] as HostCall;
      const a = args(m, c.roles, mem, cursor);
      trace.push(`${c.name}(${a.join(', ')})`);
      let r: unknown;
      try {
        r = (st.exports[`fuzz_${idx}`] as (...x: (number | bigint)[]) => unknown)(...a);
      } catch (err) {
        problem = `${c.name} threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
        break;
      }
      if (VOID.has(c.name)) continue;
      const ok = c.module === 'env' ? (c.name === 'pthread_equal' ? r === 0 || r === 1 : STATUSES.has(r as number)) : ERRNOS.has(r as number);
      if (!ok) problem = `${c.name} returned ${String(r)}, not a ${c.module === 'env' ? 'proxy_status_t' : 'WASI errno'}`;
      else if (st.vm.failed) problem = `VM failed: ${st.vm.failure}`;
      else problem = proxyIntact(st);
    }
    st.vm.afterCall();
    setAlloc(0, 0);
    if (problem) {
      // A finding leaves the VM suspect: the next case starts from a fresh one.
      st.vm.dispose();
      state = undefined;
    }
    return { input: trace.join('\n'), problem };
  },
};

/** Releases the VM the target keeps between cases (timers). */
export function resetWasmHostTarget(): void {
  state?.vm.dispose();
  state = undefined;
}
