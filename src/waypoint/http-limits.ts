/**
 * Limits on the HTTP inside HBONE tunnels, with Envoy's defaults where Envoy has one
 * (HttpConnectionManager / Http1ProtocolOptions / HttpProtocolOptions), and the checks the
 * codec-level ones need. What happens on each breach:
 *
 * | limit | default | source | breach |
 * |---|---|---|---|
 * | request line + headers size | 60 KiB | `max_request_headers_kb` 60 | 431, close |
 * | header count | 100 | `max_headers_count` 100 | 431, close |
 * | request headers complete within | 60 s | Node's `headersTimeout` default, kept by the codec (Envoy: `request_headers_timeout`, off by default) | 408, close |
 * | idle HTTP/1 tunnel, idle inner HTTP/2 session (no stream) | 1 h | `idle_timeout` 1 h | closed (HTTP/2: GOAWAY first) |
 * | no activity on a request in either direction | 5 min | `stream_idle_timeout` 5 min | 408 (request still arriving) or 504, flag `SI`; reset once the response started |
 * | inner HTTP/2 concurrent streams | 100 | Istio's `MaxConcurrentStreams` on HBONE | REFUSED_STREAM |
 * | request target | origin-form; absolute-form only naming the Host; `*` only for OPTIONS | RFC 9112 §3.2 | 400, close |
 *
 * The request line counts toward the 60 KiB (as in Envoy and Node), which is also what bounds a
 * URI's length.
 */

export interface HttpLimits {
  /** Request line plus headers, bytes. */
  readonly maxRequestHeadersBytes: number;
  readonly maxHeadersCount: number;
  /** From the tunnel opening, or the first byte after an idle keep-alive, to complete headers. */
  readonly requestHeadersTimeoutMs: number;
  /** A tunnel (HTTP/1 keep-alive, or inner HTTP/2 session with no stream) idle this long is closed. */
  readonly idleTimeoutMs: number;
  /** A request with no bytes moving either way for this long ends (0: off). */
  readonly streamIdleTimeoutMs: number;
  readonly maxConcurrentStreams: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  maxRequestHeadersBytes: 60 * 1024,
  maxHeadersCount: 100,
  requestHeadersTimeoutMs: 60_000,
  idleTimeoutMs: 60 * 60 * 1000,
  streamIdleTimeoutMs: 5 * 60 * 1000,
  maxConcurrentStreams: 100,
});

export function httpLimits(overrides: Partial<HttpLimits> | undefined): HttpLimits {
  return overrides ? { ...DEFAULT_HTTP_LIMITS, ...overrides } : DEFAULT_HTTP_LIMITS;
}
