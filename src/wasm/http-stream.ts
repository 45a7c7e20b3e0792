/**
 * One HTTP stream context of a plugin VM, driven by the Wasm filter's hooks. It turns callback
 * results into filter results:
 * - CONTINUE passes on; PAUSE holds the stream (a promise) until the plugin calls
 *   `proxy_continue_stream` or `proxy_send_local_response` from a later callback (http_call
 *   response, tick, queue), as Envoy's StopAllIteration does;
 * - body callbacks see the bytes buffered so far: while the plugin pauses a body, chunks are held
 *   here (nothing is passed on) and the whole buffer goes on at CONTINUE, edits included;
 * - a local reply wins over the return value, and the plugin does not see its own reply on the
 *   response path (Envoy's behaviour is unspecified; no SDK example relies on it);
 * - trailers (maps 1 and 3) exist only when the stream has them, and `proxy_on_*_trailers` runs
 *   only then; with trailers the last body callback had `end_of_stream` false (Envoy). In the
 *   last body callback of a stream without trailers, reaching for the trailer map creates it
 *   (Envoy's `addDecodedTrailers`/`addEncodedTrailers` from `getMap`), and it is sent after the body;
 * - a VM failure (trap) gives the filter's fail result, immediately or to a waiting stream.
 */
import type { FilterResult, HeaderMap, HookResult, LocalReply, RequestContext, ResponseContext } from '../filter/api.js';
import { CONTINUE, replaceBody, respond } from '../filter/api.js';
import { DEFAULT_BUFFER_LIMIT_BYTES, PAYLOAD_TOO_LARGE, RESPONSE_PAYLOAD_TOO_LARGE } from '../filter/buffer-limit.js';
import type { WasmStreamHooks } from '../../filters/wasm/wasm-filter.js';
import { Action } from './abi.js';
import type { HeaderAccess } from './header-access.js';
import { MapAccess, RequestHeadersAccess, ResponseHeadersAccess } from './header-access.js';
import type { BodyRef, PluginLocalReply, PluginVm, StreamSide } from './plugin-vm.js';
import { TRAPPED } from './plugin-vm.js';

const EMPTY = Buffer.alloc(0);
/** `proxy_close_stream`: Envoy resets the stream (details `wasm_fail_stream`), it does not answer. */
const CLOSED = respond({ status: 503, reset: true, details: 'wasm_fail_stream' });

interface Waiter {
  readonly streamType: 0 | 1;
  /** Body phase: the buffered body goes on with the result. */
  readonly body: boolean;
  readonly resolve: (r: FilterResult) => void;
}

export class WasmHttpStream implements StreamSide, WasmStreamHooks {
  request: RequestContext | undefined;
  response: ResponseContext | undefined;
  private id = 0;
  private requestHeaders: HeaderAccess | undefined;
  private responseHeaders: HeaderAccess | undefined;
  private requestTrailers: HeaderAccess | undefined;
  private responseTrailers: HeaderAccess | undefined;
  /** Set during the last body callback (0 request, 1 response) of a stream without trailers. */
  private lastBody: 0 | 1 | -1 = -1;
  private readonly requestBody: BodyRef = { data: EMPTY, writable: true };
  private readonly responseBody: BodyRef = { data: EMPTY, writable: true };
  private reply: PluginLocalReply | undefined;
  private replied = false;
  private closed = false;
  private readonly continued = [false, false];
  private waiter: Waiter | undefined;
  private vmDown = false;
  private done = false;

  constructor(
    private readonly vm: PluginVm,
    private readonly failed: FilterResult,
    /** Told when a stream ends without the VM failing (resets the rebuild backoff). */
    private readonly onClean: () => void = () => undefined,
    /** Body bytes held while the plugin pauses a body (Envoy's buffer limit, src/filter/buffer-limit.ts). */
    private readonly bufferLimitBytes: number = DEFAULT_BUFFER_LIMIT_BYTES,
  ) {}

  // --- StreamSide: what ABI calls see ---

  map(type: number): HeaderAccess | undefined {
    if (type === 0) return this.requestHeaders;
    if (type === 2) return this.responseHeaders;
    if (type === 1) return (this.requestTrailers ??= this.addedTrailers(0));
    if (type === 3) return (this.responseTrailers ??= this.addedTrailers(1));
    return undefined;
  }

  /** Trailers created from the last body callback; undefined (NOT_FOUND) anywhere else. */
  private addedTrailers(side: 0 | 1): HeaderAccess | undefined {
    if (this.lastBody !== side) return undefined;
    const map = side === 0 ? this.request?.addTrailers?.() : this.response?.addTrailers?.();
    return map ? new MapAccess(map) : undefined;
  }

  body(type: number): BodyRef | undefined {
    if (type === 0) return this.request ? this.requestBody : undefined;
    if (type === 1) return this.response ? this.responseBody : undefined;
    return undefined;
  }

  continueStream(streamType: number): void {
    if (streamType === 0 || streamType === 1) this.continued[streamType] = true;
  }

  sendLocalReply(reply: PluginLocalReply): void {
    if (!this.replied) this.reply = reply;
  }

  closeStream(): void {
    this.closed = true;
  }

  settle(): void {
    const w = this.waiter;
    if (!w) return;
    const r = this.immediate(w.streamType, w.body);
    if (!r) return;
    this.waiter = undefined;
    w.resolve(r);
  }

  vmFailed(): void {
    this.vmDown = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(this.failed);
  }

  // --- WasmStreamHooks: what the filter drives ---

  /** Makes the request (headers, body, properties) visible to ABI calls. */
  bindRequest(ctx: RequestContext): void {
    this.request = ctx;
    this.requestHeaders = new RequestHeadersAccess(ctx);
  }

  onRequestHeaders(ctx: RequestContext, endOfStream: boolean): HookResult {
    this.bindRequest(ctx);
    const id = this.vm.openStream(this);
    if (id === TRAPPED) return this.failed;
    this.id = id;
    this.continued[0] = false;
    const a = this.vm.call(id, 'proxy_on_request_headers', id, ctx.headers.size + 4, endOfStream ? 1 : 0);
    return this.outcome(a, 0, false, true);
  }

  onRequestBody(_ctx: RequestContext, chunk: Buffer, endOfStream: boolean): HookResult {
    if (this.id === 0 || this.vmDown) return this.vmDown ? this.failed : CONTINUE;
    const b = this.requestBody;
    // Held only while the plugin keeps the body paused; past the limit the request cannot be
    // buffered as the plugin asked (Envoy: 413), checked before the copy that would exceed it.
    if (b.data.length + chunk.length > this.bufferLimitBytes) return PAYLOAD_TOO_LARGE;
    b.data = b.data.length === 0 ? chunk : Buffer.concat([b.data, chunk]);
    this.continued[0] = false;
    if (endOfStream) this.lastBody = 0;
    const a = this.vm.call(this.id, 'proxy_on_request_body', this.id, b.data.length, endOfStream ? 1 : 0);
    this.lastBody = -1;
    return this.outcome(a, 0, true, endOfStream);
  }

  onRequestTrailers(_ctx: RequestContext, trailers: HeaderMap): HookResult {
    if (this.id === 0 || this.vmDown) return this.vmDown ? this.failed : CONTINUE;
    this.requestTrailers = new MapAccess(trailers);
    this.continued[0] = false;
    const a = this.vm.call(this.id, 'proxy_on_request_trailers', this.id, trailers.size);
    // A body the plugin held back goes on with the trailers' result.
    return this.outcome(a, 0, true, true);
  }

  onResponseTrailers(_ctx: RequestContext, _response: ResponseContext, trailers: HeaderMap): HookResult {
    if (this.id === 0 || this.replied) return CONTINUE;
    if (this.vmDown) return this.failed;
    this.responseTrailers = new MapAccess(trailers);
    this.continued[1] = false;
    const a = this.vm.call(this.id, 'proxy_on_response_trailers', this.id, trailers.size);
    return this.outcome(a, 1, true, true);
  }

  onResponseHeaders(_ctx: RequestContext, response: ResponseContext, endOfStream: boolean): HookResult {
    if (this.id === 0 || this.replied) return CONTINUE;
    if (this.vmDown) return this.failed;
    this.response = response;
    this.responseHeaders = new ResponseHeadersAccess(response);
    this.continued[1] = false;
    const a = this.vm.call(this.id, 'proxy_on_response_headers', this.id, response.headers.size + 1, endOfStream ? 1 : 0);
    return this.outcome(a, 1, false, true);
  }

  onResponseBody(_ctx: RequestContext, _response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult {
    if (this.id === 0 || this.replied) return CONTINUE;
    if (this.vmDown) return this.failed;
    const b = this.responseBody;
    if (b.data.length + chunk.length > this.bufferLimitBytes) return RESPONSE_PAYLOAD_TOO_LARGE;
    b.data = b.data.length === 0 ? chunk : Buffer.concat([b.data, chunk]);
    this.continued[1] = false;
    if (endOfStream) this.lastBody = 1;
    const a = this.vm.call(this.id, 'proxy_on_response_body', this.id, b.data.length, endOfStream ? 1 : 0);
    this.lastBody = -1;
    return this.outcome(a, 1, true, endOfStream);
  }

  onStreamComplete(): void {
    if (this.done) return;
    this.done = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(CONTINUE);
    if (this.id !== 0 && !this.vmDown) {
      this.vm.closeStream(this.id);
      if (!this.vm.failed) this.onClean();
    }
  }

  // --- results ---

  private outcome(action: number, streamType: 0 | 1, body: boolean, endOfStream: boolean): HookResult {
    if (action === TRAPPED || this.vmDown) return this.failed;
    // Effects the callback queued on other streams (set_effective_context) apply now.
    this.vm.afterCall();
    const r = this.immediate(streamType, body);
    if (r) return r;
    if (action === Action.CONTINUE) return body ? this.flush(streamType) : CONTINUE;
    // Paused in a body callback before the end: keep buffering, pass nothing on yet.
    if (body && !endOfStream) return replaceBody(EMPTY);
    return new Promise<FilterResult>((resolve) => {
      this.waiter = { streamType, body, resolve };
    });
  }

  /** A result that does not need waiting: a reply, a close, or a continue the plugin asked for. */
  private immediate(streamType: 0 | 1, body: boolean): FilterResult | undefined {
    if (this.vmDown) return this.failed;
    if (this.reply) {
      const reply = this.reply;
      this.reply = undefined;
      this.replied = true;
      return respond(toLocalReply(reply));
    }
    if (this.closed) return CLOSED;
    if (this.continued[streamType]) {
      this.continued[streamType] = false;
      return body ? this.flush(streamType) : CONTINUE;
    }
    return undefined;
  }

  private flush(streamType: 0 | 1): FilterResult {
    const b = streamType === 0 ? this.requestBody : this.responseBody;
    const out = b.data;
    b.data = EMPTY;
    return replaceBody(out);
  }
}

function toLocalReply(r: PluginLocalReply): LocalReply {
  const map = new Map<string, string>();
  for (const [k, v] of r.headers) {
    const prev = map.get(k);
    map.set(k, prev === undefined ? v : `${prev}, ${v}`);
  }
  if (r.grpcStatus >= 0 && r.grpcStatus <= 16) map.set('grpc-status', String(r.grpcStatus));
  const headers = Object.fromEntries(map);
  return {
    status: r.status,
    body: r.body.toString('utf8'),
    headers,
    details: r.details === '' ? 'wasm_local_reply' : r.details,
  };
}
