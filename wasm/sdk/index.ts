// A small proxy-wasm SDK for AssemblyScript (ABI 0.2.1): contexts as classes, helpers over the
// host functions. A plugin module re-exports "./exports" and registers its root context factory
// with `registerRootContext` at top level.
import * as host from "./imports";

export enum Action { Continue = 0, Pause = 1 }
export enum Status { Ok = 0, NotFound = 1, BadArgument = 2, Empty = 7, CasMismatch = 8, Unimplemented = 12 }
export enum LogLevel { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Critical = 5 }
export enum MapType { RequestHeaders = 0, RequestTrailers = 1, ResponseHeaders = 2, ResponseTrailers = 3, HttpCallResponseHeaders = 6, HttpCallResponseTrailers = 7 }
export enum BufferType { RequestBody = 0, ResponseBody = 1, HttpCallResponseBody = 4, VmConfiguration = 6, PluginConfiguration = 7 }
export enum StreamType { Request = 0, Response = 1 }
export enum MetricType { Counter = 0, Gauge = 1, Histogram = 2 }

// Out-pointers the host writes through (static memory, never moved by the GC).
const RET_PTR = memory.data(8);
const RET_SIZE = memory.data(8);
const RET_EXTRA = memory.data(8);

/** Copies host-allocated bytes into a managed buffer and frees the host block. */
function takeReturned(): ArrayBuffer {
  const ptr = load<usize>(RET_PTR);
  const size = load<u32>(RET_SIZE);
  const out = new ArrayBuffer(size);
  if (size > 0) {
    memory.copy(changetype<usize>(out), ptr, size);
    heap.free(ptr);
  }
  return out;
}

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function log(level: LogLevel, msg: string): void {
  const b = utf8(msg);
  host.proxy_log(level, changetype<usize>(b), b.byteLength);
}

export function setTickPeriod(ms: u32): void {
  host.proxy_set_tick_period_milliseconds(ms);
}

export function setEffectiveContext(id: u32): Status {
  return host.proxy_set_effective_context(id) as Status;
}

export function continueStream(t: StreamType): void {
  host.proxy_continue_stream(t);
}

/** Resets the stream (`proxy_close_stream`): HTTP/2 RST_STREAM, or the HTTP/1.1 connection closed. */
export function closeStream(t: StreamType): void {
  host.proxy_close_stream(t);
}

// --- headers ---

export function getHeader(map: MapType, name: string): string | null {
  const k = utf8(name);
  if (host.proxy_get_header_map_value(map, changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE) != Status.Ok) return null;
  return String.UTF8.decode(takeReturned());
}

export function addHeader(map: MapType, name: string, value: string): void {
  const k = utf8(name);
  const v = utf8(value);
  host.proxy_add_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function replaceHeader(map: MapType, name: string, value: string): void {
  const k = utf8(name);
  const v = utf8(value);
  host.proxy_replace_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function removeHeader(map: MapType, name: string): void {
  const k = utf8(name);
  host.proxy_remove_header_map_value(map, changetype<usize>(k), k.byteLength);
}

/** Every pair of a map (`proxy_get_header_map_pairs`); empty when the map is absent. */
export function getHeaderPairs(map: MapType): string[][] {
  const out = new Array<string[]>();
  if (host.proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE) != Status.Ok) return out;
  const data = takeReturned();
  if (data.byteLength < 4) return out;
  const base = changetype<usize>(data);
  const n = load<u32>(base);
  let off: usize = 4 + <usize>n * 8;
  for (let i: u32 = 0; i < n; i++) {
    const kLen = load<u32>(base + 4 + <usize>i * 8);
    const vLen = load<u32>(base + 8 + <usize>i * 8);
    const k = String.UTF8.decodeUnsafe(base + off, kLen);
    off += kLen + 1;
    const v = String.UTF8.decodeUnsafe(base + off, vLen);
    off += vLen + 1;
    out.push([k, v]);
  }
  return out;
}

/** Replaces a whole map (`proxy_set_header_map_pairs`). */
export function setHeaderPairs(map: MapType, pairs: string[][]): Status {
  const b = serializeHeaders(pairs);
  return host.proxy_set_header_map_pairs(map, changetype<usize>(b), b.byteLength) as Status;
}

/** Serializes header pairs (u32 count, u32 lengths, NUL-terminated bytes). */
export function serializeHeaders(pairs: string[][]): ArrayBuffer {
  const keys = new Array<ArrayBuffer>(pairs.length);
  const values = new Array<ArrayBuffer>(pairs.length);
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    keys[i] = utf8(pairs[i][0]);
    values[i] = utf8(pairs[i][1]);
    size += keys[i].byteLength + values[i].byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, pairs.length);
  let off: usize = 4;
  for (let i = 0; i < pairs.length; i++) {
    store<u32>(base + off, keys[i].byteLength);
    store<u32>(base + off + 4, values[i].byteLength);
    off += 8;
  }
  for (let i = 0; i < pairs.length; i++) {
    memory.copy(base + off, changetype<usize>(keys[i]), keys[i].byteLength);
    off += keys[i].byteLength;
    store<u8>(base + off, 0);
    off += 1;
    memory.copy(base + off, changetype<usize>(values[i]), values[i].byteLength);
    off += values[i].byteLength;
    store<u8>(base + off, 0);
    off += 1;
  }
  return out;
}

// --- buffers ---

export function getBuffer(t: BufferType, start: u32, max: u32): ArrayBuffer {
  if (host.proxy_get_buffer_bytes(t, start, max, RET_PTR, RET_SIZE) != Status.Ok) return new ArrayBuffer(0);
  return takeReturned();
}

export function getBufferSize(t: BufferType): u32 {
  if (host.proxy_get_buffer_status(t, RET_SIZE, RET_EXTRA) != Status.Ok) return 0;
  return load<u32>(RET_SIZE);
}

/** Appends bytes at the end of a body buffer. */
export function appendBuffer(t: BufferType, data: ArrayBuffer): Status {
  const size = getBufferSize(t);
  return host.proxy_set_buffer_bytes(t, size, 0, changetype<usize>(data), data.byteLength) as Status;
}

export function pluginConfiguration(): string {
  const n = getBufferSize(BufferType.PluginConfiguration);
  return String.UTF8.decode(getBuffer(BufferType.PluginConfiguration, 0, n));
}

// --- local replies and calls ---

export function sendLocalResponse(status: u32, details: string, body: string, headers: string[][]): void {
  const d = utf8(details);
  const b = utf8(body);
  const h = serializeHeaders(headers);
  host.proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength, changetype<usize>(h), h.byteLength, -1);
}

/** Starts an http_call; returns the token, or 0 when the host refused it. */
export function httpCall(cluster: string, headers: string[][], body: string, timeoutMs: u32): u32 {
  const c = utf8(cluster);
  const h = serializeHeaders(headers);
  const b = utf8(body);
  const t = serializeHeaders([]);
  const s = host.proxy_http_call(changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength, changetype<usize>(b), b.byteLength, changetype<usize>(t), 0, timeoutMs, RET_EXTRA);
  return s == Status.Ok ? load<u32>(RET_EXTRA) : 0;
}

// --- shared data ---

export class SharedValue {
  constructor(public value: ArrayBuffer, public cas: u32, public found: bool) {}
}

export function getSharedData(key: string): SharedValue {
  const k = utf8(key);
  const s = host.proxy_get_shared_data(changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE, RET_EXTRA);
  if (s != Status.Ok) return new SharedValue(new ArrayBuffer(0), 0, false);
  const cas = load<u32>(RET_EXTRA);
  return new SharedValue(takeReturned(), cas, true);
}

export function setSharedData(key: string, value: ArrayBuffer, cas: u32): Status {
  const k = utf8(key);
  return host.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas) as Status;
}

// --- metrics ---

export function defineMetric(t: MetricType, name: string): u32 {
  const n = utf8(name);
  if (host.proxy_define_metric(t, changetype<usize>(n), n.byteLength, RET_EXTRA) != Status.Ok) return 0;
  return load<u32>(RET_EXTRA);
}

export function incrementMetric(id: u32, delta: i64): void {
  host.proxy_increment_metric(id, delta);
}

export function recordMetric(id: u32, value: u64): void {
  host.proxy_record_metric(id, value);
}

// --- properties ---

/** A property (path segments joined by NUL) as raw bytes, or null when absent. */
export function getProperty(path: string[]): ArrayBuffer | null {
  const p = utf8(path.join("\0"));
  if (host.proxy_get_property(changetype<usize>(p), p.byteLength, RET_PTR, RET_SIZE) != Status.Ok) return null;
  return takeReturned();
}

// --- contexts ---

export class HttpContext {
  constructor(public id: u32, public root: RootContext) {}
  onRequestHeaders(_headers: u32, _endOfStream: bool): Action { return Action.Continue; }
  onRequestBody(_size: u32, _endOfStream: bool): Action { return Action.Continue; }
  onResponseHeaders(_headers: u32, _endOfStream: bool): Action { return Action.Continue; }
  onResponseBody(_size: u32, _endOfStream: bool): Action { return Action.Continue; }
  onRequestTrailers(_trailers: u32): Action { return Action.Continue; }
  onResponseTrailers(_trailers: u32): Action { return Action.Continue; }
  onLog(): void {}
  onDone(): bool { return true; }
}

export class RootContext {
  constructor(public id: u32) {}
  onVmStart(_size: u32): bool { return true; }
  onConfigure(_size: u32): bool { return true; }
  onTick(): void {}
  onHttpCallResponse(_token: u32, _headers: u32, _bodySize: u32, _trailers: u32): void {}
  createHttpContext(id: u32): HttpContext { return new HttpContext(id, this); }
}

export let rootFactory: (id: u32) => RootContext = (id: u32): RootContext => new RootContext(id);

/** Sets how the plugin's root context is made (call once at module top level). */
export function registerRootContext(factory: (id: u32) => RootContext): void {
  rootFactory = factory;
}
