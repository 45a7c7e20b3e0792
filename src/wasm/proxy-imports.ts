/**
 * The `env.proxy_*` host functions with Envoy's status codes (proxy-wasm spec 0.2.1 and cpp-host
 * `src/exports.cc`). Every pointer is bounds-checked ({@link GuestMemory}); bytes returned to the
 * plugin are allocated with its own allocator; effects on streams (continue, local reply, close)
 * are queued on the stream and applied after the running callback returns.
 */
import { MAX_MAP_BYTES, MAX_MAP_PAIRS, Status } from './abi.js';
import { parsePairs, serializePairs } from './header-pairs.js';
import { validHeader, validPairs } from './header-validation.js';
import type { PluginVm } from './plugin-vm.js';
import { getProperty, setProperty, splitPath } from './properties.js';
import { sharedImports } from './shared-imports.js';

type HostFn = (...args: never[]) => number | void;

const MAX_U32 = 0xffffffff;

/** Thrown by AssemblyScript's `abort`: unwinds the plugin like a trap. */
export class PluginAbort extends Error {}

export function proxyImports(vm: PluginVm): Record<string, HostFn> {
  const m = vm.memory;
  // Two helpers rather than one returning `{ status, map }`: no object per header call.
  const mapOf = (type: number): ReturnType<PluginVm['map']> => (type < 0 || type > 7 ? undefined : vm.map(type));
  const noMap = (type: number): number => (type < 0 || type > 7 ? Status.BAD_ARGUMENT : Status.NOT_FOUND);
  const stream = (): ReturnType<PluginVm['effectiveStream']> => vm.effectiveStream();
  /** `proxy_continue_stream` / `proxy_close_stream` (and ABI 0.1.0's continue_request/response): 0 request … 3 downstream. */
  const streamControl = (streamType: number, action: 'continue' | 'close'): number => {
    if (streamType < 0 || streamType > 3) return Status.BAD_ARGUMENT;
    const s = stream();
    if (!s) return Status.NOT_FOUND;
    if (action === 'continue') s.continueStream(streamType);
    else s.closeStream(streamType);
    vm.markDirty(s);
    return Status.OK;
  };

  return {
    ...sharedImports(vm),

    proxy_log(level: number, ptr: number, len: number): number {
      if (level < 0 || level > 5) return Status.BAD_ARGUMENT;
      const msg = m.readString(ptr, len);
      if (msg === undefined) return Status.INVALID_MEMORY_ACCESS;
      vm.log(level, msg);
      return Status.OK;
    },
    proxy_get_log_level(retPtr: number): number {
      return m.writeU32(retPtr, vm.opts.logLevel) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_current_time_nanoseconds(retPtr: number): number {
      return m.writeU64(retPtr, BigInt(Date.now()) * 1_000_000n) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_set_tick_period_milliseconds(ms: number): number {
      vm.setTickPeriod(ms >>> 0);
      return Status.OK;
    },
    proxy_set_effective_context(id: number): number {
      if (!vm.context(id)) return Status.BAD_ARGUMENT;
      vm.effectiveContextId = id;
      return Status.OK;
    },
    // Streams are closed by the proxy as soon as `on_done` returns, so there is never a pending done.
    proxy_done: (): number => Status.NOT_FOUND,

    proxy_get_buffer_bytes(type: number, start: number, maxSize: number, ptrPtr: number, sizePtr: number): number {
      if (type < 0 || type > 8) return Status.BAD_ARGUMENT;
      const b = vm.buffer(type);
      if (!b) return Status.NOT_FOUND;
      const s = start >>> 0;
      const n = maxSize >>> 0;
      if (s + n > MAX_U32) return Status.BAD_ARGUMENT;
      const data = s >= b.data.length ? b.data.subarray(0, 0) : b.data.subarray(s, Math.min(b.data.length, s + n));
      return m.copyOut(data, ptrPtr, sizePtr);
    },
    proxy_get_buffer_status(type: number, sizePtr: number, flagsPtr: number): number {
      if (type < 0 || type > 8) return Status.BAD_ARGUMENT;
      const b = vm.buffer(type);
      if (!b) return Status.NOT_FOUND;
      return m.writeU32(sizePtr, b.data.length) && m.writeU32(flagsPtr, 0) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_set_buffer_bytes(type: number, start: number, size: number, dataPtr: number, dataSize: number): number {
      if (type < 0 || type > 8) return Status.BAD_ARGUMENT;
      const b = vm.buffer(type);
      if (!b) return Status.NOT_FOUND;
      if (!b.writable) return Status.BAD_ARGUMENT;
      const data = m.read(dataPtr, dataSize);
      if (!data) return Status.INVALID_MEMORY_ACCESS;
      const s = start >>> 0;
      const n = size >>> 0;
      const len = b.data.length;
      // Envoy supports prepend (0, 0), replace-all (0, >= len) and append (start >= len) only.
      if (s === 0 && n === 0) b.data = Buffer.concat([data, b.data]);
      else if (s === 0 && n >= len) b.data = Buffer.from(data);
      else if (s >= len) b.data = Buffer.concat([b.data, data]);
      else return Status.BAD_ARGUMENT;
      return Status.OK;
    },

    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      return m.copyOut(serializePairs(map.pairs()), ptrPtr, sizePtr);
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      if (size > MAX_MAP_BYTES) return Status.BAD_ARGUMENT;
      const raw = m.read(ptr, size);
      if (!raw) return Status.INVALID_MEMORY_ACCESS;
      const pairs = parsePairs(raw);
      if (!pairs || pairs.length > MAX_MAP_PAIRS || !validPairs(pairs)) return Status.BAD_ARGUMENT;
      map.setAll(pairs);
      return Status.OK;
    },
    proxy_get_header_map_size(type: number, retPtr: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      return m.writeU32(retPtr, serializePairs(map.pairs()).length) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_header_map_value(type: number, kPtr: number, kLen: number, ptrPtr: number, sizePtr: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      const key = m.readString(kPtr, kLen);
      if (key === undefined) return Status.INVALID_MEMORY_ACCESS;
      const v = map.get(key);
      if (v === undefined) return Status.NOT_FOUND;
      return m.copyOut(Buffer.from(v, 'latin1'), ptrPtr, sizePtr);
    },
    proxy_add_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      const k = m.readString(kPtr, kLen);
      const v = m.readBytesString(vPtr, vLen);
      if (k === undefined || v === undefined) return Status.INVALID_MEMORY_ACCESS;
      if (!validHeader(k, v)) return Status.BAD_ARGUMENT;
      map.add(k, v);
      return Status.OK;
    },
    proxy_replace_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      const k = m.readString(kPtr, kLen);
      const v = m.readBytesString(vPtr, vLen);
      if (k === undefined || v === undefined) return Status.INVALID_MEMORY_ACCESS;
      if (!validHeader(k, v)) return Status.BAD_ARGUMENT;
      map.replace(k, v);
      return Status.OK;
    },
    proxy_remove_header_map_value(type: number, kPtr: number, kLen: number): number {
      const map = mapOf(type);
      if (!map) return noMap(type);
      const k = m.readString(kPtr, kLen);
      if (k === undefined) return Status.INVALID_MEMORY_ACCESS;
      map.remove(k);
      return Status.OK;
    },

    proxy_continue_stream: (streamType: number): number => streamControl(streamType, 'continue'),
    proxy_close_stream: (streamType: number): number => streamControl(streamType, 'close'),
    // ABI 0.1.0 names, provided to every module (lenient, as the reference suggests).
    proxy_continue_request: (): number => streamControl(0, 'continue'),
    proxy_continue_response: (): number => streamControl(1, 'continue'),
    proxy_clear_route_cache: (): number => Status.OK,
    proxy_send_local_response(
      status: number,
      dPtr: number,
      dLen: number,
      bPtr: number,
      bLen: number,
      hPtr: number,
      hLen: number,
      grpcStatus: number,
    ): number {
      const s = stream();
      if (!s) return Status.NOT_FOUND;
      const details = m.readString(dPtr, dLen);
      const body = m.read(bPtr, bLen);
      const rawHeaders = m.read(hPtr, hLen);
      if (details === undefined || !body || !rawHeaders) return Status.INVALID_MEMORY_ACCESS;
      const headers = parsePairs(rawHeaders);
      if (!headers || !validPairs(headers, false)) return Status.BAD_ARGUMENT;
      if (status < 100 || status > 999) return Status.BAD_ARGUMENT;
      s.sendLocalReply({ status, details, body, headers: headers.map(([k, v]) => [k.toLowerCase(), v] as const), grpcStatus });
      vm.markDirty(s);
      return Status.OK;
    },
    proxy_http_call(
      uPtr: number,
      uLen: number,
      hPtr: number,
      hLen: number,
      bPtr: number,
      bLen: number,
      tPtr: number,
      tLen: number,
      timeoutMs: number,
      tokenPtr: number,
    ): number {
      const cluster = m.readString(uPtr, uLen);
      const rawHeaders = m.read(hPtr, hLen);
      const body = m.read(bPtr, bLen);
      const rawTrailers = m.read(tPtr, tLen);
      if (cluster === undefined || !rawHeaders || !body || !rawTrailers) return Status.INVALID_MEMORY_ACCESS;
      const headers = parsePairs(rawHeaders);
      if (!headers || !validPairs(headers)) return Status.BAD_ARGUMENT;
      const names = new Set(headers.map(([k]) => k.toLowerCase()));
      if (!names.has(':method') || !names.has(':path') || !(names.has(':authority') || names.has('host'))) return Status.BAD_ARGUMENT;
      const token = vm.startHttpCall(cluster, headers, body, timeoutMs >>> 0);
      if (token === undefined) return Status.BAD_ARGUMENT;
      return m.writeU32(tokenPtr, token) ? Status.OK : Status.INVALID_MEMORY_ACCESS;
    },
    proxy_get_status(codePtr: number, msgPtrPtr: number, msgSizePtr: number): number {
      if (!m.writeU32(codePtr, vm.status.code)) return Status.INVALID_MEMORY_ACCESS;
      return m.copyOut(Buffer.from(vm.status.message, 'utf8'), msgPtrPtr, msgSizePtr);
    },

    proxy_get_property(pPtr: number, pLen: number, ptrPtr: number, sizePtr: number): number {
      const raw = m.readString(pPtr, pLen);
      if (raw === undefined) return Status.INVALID_MEMORY_ACCESS;
      const v = getProperty(vm.propertyScope(), splitPath(raw));
      if (v === undefined) return Status.NOT_FOUND;
      return m.copyOut(v, ptrPtr, sizePtr);
    },
    proxy_set_property(pPtr: number, pLen: number, vPtr: number, vLen: number): number {
      const raw = m.readString(pPtr, pLen);
      const v = m.read(vPtr, vLen);
      if (raw === undefined || !v) return Status.INVALID_MEMORY_ACCESS;
      return setProperty(vm.propertyScope(), splitPath(raw), v) ? Status.OK : Status.BAD_ARGUMENT;
    },
    proxy_call_foreign_function(nPtr: number, nLen: number): number {
      const name = m.readString(nPtr, nLen);
      if (name === undefined) return Status.INVALID_MEMORY_ACCESS;
      return Status.NOT_FOUND;
    },

    // gRPC calls need an Envoy GrpcService proto and a gRPC client per plugin: not provided yet.
    proxy_grpc_call: (): number => Status.UNIMPLEMENTED,
    proxy_grpc_stream: (): number => Status.UNIMPLEMENTED,
    proxy_grpc_send: (): number => Status.UNIMPLEMENTED,
    proxy_grpc_cancel: (): number => Status.UNIMPLEMENTED,
    proxy_grpc_close: (): number => Status.UNIMPLEMENTED,

    // AssemblyScript's default abort handler: the plugin failed.
    abort(msgPtr: number, filePtr: number, line: number, col: number): void {
      throw new PluginAbort(`abort: ${m.readAsString(msgPtr)} at ${m.readAsString(filePtr)}:${line}:${col}`);
    },
    // Emscripten (C++ SDK) and threads stubs.
    emscripten_notify_memory_growth: (): void => undefined,
    pthread_equal: (a: number, b: number): number => (a === b ? 1 : 0),
  };
}
