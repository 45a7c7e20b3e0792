/**
 * The L7 filter contract: everything a filter (built-in or Wasm) may see and do. Filters import
 * only `src/filter/`, never the engine's internals, so the engine can change underneath them.
 *
 * Life cycle:
 * 1. Config time: a {@link FilterDefinition} validates raw config once ({@link FilterDefinition.configure})
 *    and returns a {@link FilterFactory} (or diagnostics). Regexes, matchers, keys are compiled here.
 * 2. Per stream: the chain calls {@link FilterFactory.create} for a fresh {@link StreamFilter}
 *    holding that request's state.
 * 3. Hooks run in phase order on the request path and in reverse on the response path
 *    (`src/filter/phases.ts`). Each returns {@link CONTINUE} (a shared constant) or a local reply
 *    ({@link respond}); a hook may return a promise when it must wait (ext_authz, JWKS fetch).
 *
 * A local reply skips the remaining request-path filters and the router; the response path still
 * runs for the filters that already ran. A hook that throws is a bug: the stream gets a 500
 * (`FILTER_FAILED`), counted and logged once by the chain.
 */
import type { HeaderMap } from './header-map.js';
import type { FilterPhase } from './phases.js';

export type { HeaderMap, HeaderValue } from './header-map.js';
export type { FilterPhase } from './phases.js';

/** A reply the proxy sends instead of (or in place of) the upstream response. */
export interface LocalReply {
  /** HTTP status. */
  readonly status: number;
  /** Body, sent as `text/plain` unless `headers` sets a content type. Empty when omitted. */
  readonly body?: string;
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Envoy response flag to record (`FI`, `UAEX`, `RL`...). */
  readonly responseFlag?: string;
  /** Envoy `%RESPONSE_CODE_DETAILS%` (e.g. `rbac_access_denied_matched_policy[none]`). */
  readonly details?: string;
  /**
   * Reset the downstream stream instead of answering (Envoy's `resetStream()` from a filter):
   * HTTP/2 RST_STREAM, the connection closed on HTTP/1.1. Nothing is sent; `status` and `body`
   * are unused, `details` and `responseFlag` still go to the access record.
   */
  readonly reset?: boolean;
}

/** Go on to the next filter. */
export interface Continue {
  readonly action: 'continue';
  /** Body hooks only: replaces the chunk passed on (request or response body). */
  readonly body?: Buffer;
}

/** Stop the request path and answer with `reply`. */
export interface Respond {
  readonly action: 'respond';
  readonly reply: LocalReply;
}

export type FilterResult = Continue | Respond;

/** What a hook returns: synchronous results should be {@link CONTINUE} or a constant reply. */
export type HookResult = FilterResult | Promise<FilterResult>;

/** True when a hook answered with a promise (the only case in which the engine awaits). */
export function isAsync(r: HookResult): r is Promise<FilterResult> {
  return typeof (r as Promise<FilterResult>).then === 'function';
}

/** The shared "continue" result: returning it allocates nothing. */
export const CONTINUE: Continue = Object.freeze({ action: 'continue' });

/** Builds a local-reply result. Filters with fixed replies should build them once at config time. */
export function respond(reply: LocalReply): Respond {
  return Object.freeze({ action: 'respond', reply });
}

/** Replaces a body chunk (body hooks only). */
export function replaceBody(body: Buffer): Continue {
  return { action: 'continue', body };
}

/** Who sent the request, from the downstream HBONE connection. */
export interface SourceInfo {
  /** The peer's SPIFFE identity (verified client certificate), when the connection had one. */
  readonly principal?: string;
  /** Downstream remote address (the client pod IP: ztunnel keeps it). */
  readonly address: string;
  readonly port: number;
}

/** The Service (port) the request was addressed to, resolved from the CONNECT `:authority`. */
export interface DestinationInfo {
  /** `name.namespace.svc.<domain>`. */
  readonly hostname: string;
  readonly name: string;
  readonly namespace: string;
  /** The service port (not the target port). */
  readonly port: number;
  /** `http`, `http2`, `grpc`, or `unknown` when the protocol was sniffed. */
  readonly appProtocol: string;
  /** The CONNECT `:authority` (`VIP:port` or `host:port`): Envoy's downstream local address. */
  readonly connectAuthority: string;
}

/**
 * Facts about the stream that end up in the access record and metrics. Filters add flags and
 * details; the engine fills the upstream fields.
 */
export interface StreamInfo {
  /** Envoy response flags set so far (e.g. `FI`, `UH`), in the order they were set. */
  readonly responseFlags: readonly string[];
  addResponseFlag(flag: string): void;
  /** `%RESPONSE_CODE_DETAILS%` once known (`via_upstream`, or the local reply's details). */
  responseCodeDetails?: string;
  /** The route's name (`default` for the default route). */
  routeName?: string;
  /** The chosen upstream host, `podIP:targetPort`. */
  upstreamHost?: string;
  /** The upstream cluster, `inbound-vip|<port>|http|<hostname>`. */
  upstreamCluster?: string;
  /**
   * Per-stream key/value state shared between filters (JWT claims for authz, Wasm properties).
   * Allocated on first use.
   */
  filterState(): Map<string, unknown>;
}

/** The request as filters see it. Headers are mutable; pseudo-header fields are separate. */
export interface RequestContext {
  /** `:method`. Mutable: a filter (a Wasm plugin) may change it; the upstream request uses it. */
  method: string;
  /** `:authority` / `Host`. Mutable: a filter may rewrite it before routing. */
  authority: string;
  /** `:path` including the query. Mutable: a filter may rewrite it before routing. */
  path: string;
  /** `:scheme`. Mutable: sent as the upstream `:scheme` on HTTP/2 (HTTP/1.1 has no scheme on the wire). */
  scheme: 'http' | 'https';
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** Request headers without pseudo-headers; changes are sent upstream. */
  readonly headers: HeaderMap;
  /** `x-request-id` (generated when the client sent none). */
  readonly requestId: string;
  readonly source: SourceInfo;
  readonly destination: DestinationInfo;
  readonly streamInfo: StreamInfo;
  /** `Date.now()` when the request headers arrived. */
  readonly startTime: number;
  /**
   * Reads the request body before anything goes upstream (ext_authz `includeRequestBodyInCheck`).
   * Set by the engine for requests that have a body; absent in contexts without one.
   */
  readonly body?: RequestBodyAccess;
  /**
   * Only during the last request-body hook (`endOfStream` true) of a request without trailers:
   * creates the trailer map sent upstream after the body (Envoy's `addDecodedTrailers`, which
   * is allowed only there). `undefined` anywhere else, or when the request has trailers already.
   */
  addTrailers?(): HeaderMap | undefined;
}

/** A request body prefix read ahead of the upstream request. */
export interface BufferedRequestBody {
  /** The body, or its first `maxBytes` bytes when `complete` is false. */
  readonly data: Buffer;
  /** True when `data` is the whole body. */
  readonly complete: boolean;
}

/**
 * Access to the downstream request body from a request-headers hook. The bytes read are not lost:
 * the engine still forwards the whole body upstream (what was read first, then the rest).
 */
export interface RequestBodyAccess {
  /** Reads until the body ends or exceeds `maxBytes`. Call at most once per request. */
  buffer(maxBytes: number): Promise<BufferedRequestBody>;
}

/** The response as filters see it on the way back. */
export interface ResponseContext {
  /** Mutable: a filter may change the status. */
  status: number;
  readonly headers: HeaderMap;
  /** True when this is a local reply (from a filter or the engine), not the upstream's answer. */
  readonly local: boolean;
  /**
   * Only during the last response-body hook (`endOfStream` true) of a response without trailers:
   * creates the trailer map sent downstream after the body (Envoy's `addEncodedTrailers`).
   * `undefined` anywhere else.
   */
  addTrailers?(): HeaderMap | undefined;
}

/**
 * One filter's per-stream instance. Every hook is optional; a filter implements only what it
 * needs, and the chain skips missing hooks without a call (a filter with no body hooks never
 * makes the proxy buffer or copy bodies).
 */
export interface StreamFilter {
  /** Request headers arrived. `endOfStream`: the request has no body. */
  onRequestHeaders?(ctx: RequestContext, endOfStream: boolean): HookResult;
  /** A request body chunk. `respond` here is honoured while the response has not started. */
  onRequestBody?(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): HookResult;
  /**
   * Response headers (upstream or local). `respond` replaces the upstream response with a local
   * reply; the filters before this one then see that reply.
   */
  onResponseHeaders?(ctx: RequestContext, response: ResponseContext, endOfStream: boolean): HookResult;
  /** A response body chunk. `respond` here resets the stream (headers already left). */
  onResponseBody?(ctx: RequestContext, response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult;
  /**
   * The request's trailers (called only when the request has some; its last body hook then had
   * `endOfStream` false, as in Envoy). Edit the map in place: it is what goes upstream. A
   * `Continue.body` here is body data the filter held back (a paused body); it goes upstream
   * before the trailers, without passing through the later filters' body hooks.
   */
  onRequestTrailers?(ctx: RequestContext, trailers: HeaderMap): HookResult;
  /**
   * The response's trailers (only when it has some), filters in reverse order as for bodies.
   * Edits go downstream. `respond` here resets the stream; `Continue.body` as for requests.
   */
  onResponseTrailers?(ctx: RequestContext, response: ResponseContext, trailers: HeaderMap): HookResult;
  /** The stream is over (completed, reset or failed): release resources, record stats. */
  onStreamComplete?(ctx: RequestContext): void;
}

/** A configured filter: builds per-stream instances. Created once per config snapshot. */
export interface FilterFactory {
  /** Envoy-style filter name, for logs and error counts (`envoy.filters.http.fault`). */
  readonly name: string;
  readonly phase: FilterPhase;
  /** A new per-stream instance. Must not throw for valid config (config was checked already). */
  create(): StreamFilter;
}

/** A config problem found while configuring a filter. */
export interface FilterDiagnostic {
  /** Dotted path of the offending field in the filter's config (`abort.httpStatus`). */
  readonly field: string;
  readonly message: string;
}

export type ConfigureResult =
  | { readonly ok: true; readonly factory: FilterFactory }
  | { readonly ok: false; readonly diagnostics: readonly FilterDiagnostic[] };

/** A filter kind: validates `unknown` config once and returns a factory. */
export interface FilterDefinition {
  readonly name: string;
  readonly phase: FilterPhase;
  configure(config: unknown): ConfigureResult;
}
