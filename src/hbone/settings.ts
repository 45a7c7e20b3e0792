/**
 * HTTP/2 and TLS parameters of HBONE, in one place, with where each number comes from
 * (reference/hbone-and-data-path.md §1.2, perf-baseline.md "Bulk").
 */
import type { Settings } from 'node:http2';
import type { SecureVersion } from 'node:tls';

/** HBONE is TLS 1.3 only (ztunnel default; Envoy's waypoint pins min = max = 1.3). */
export const TLS_VERSION: SecureVersion = 'TLSv1.3';
export const ALPN_H2 = 'h2';

/** Per-stream receive window: ztunnel's HTTP2_STREAM_WINDOW_SIZE. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/**
 * Connection receive window: ztunnel's HTTP2_CONNECTION_WINDOW_SIZE. Node's `initialWindowSize`
 * setting only moves the per-stream window; this one needs `session.setLocalWindowSize()`
 * (without it bulk transfer halves, perf-baseline.md).
 */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Largest frame we accept: ztunnel's HTTP2_FRAME_SIZE (Node allows up to 2^24-1). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Streams a server allows per connection. Envoy's waypoint `connect_terminate` advertises 100,
 * ztunnel's server 200; we follow the waypoint, the stricter of the two, so a pool sized for one
 * is right for both.
 */
export const SERVER_MAX_CONCURRENT_STREAMS = 100;
/** Streams a client puts on one pooled connection: ztunnel's POOL_MAX_STREAMS_PER_CONNECTION. */
export const POOL_MAX_STREAMS_PER_CONNECTION = 100;
/** Idle pooled connections are released after this: ztunnel's POOL_UNUSED_RELEASE_TIMEOUT. */
export const POOL_IDLE_TIMEOUT_MS = 5 * 60 * 1000;
/** Header list limits: ztunnel client 16 KiB, server 64 KiB. */
export const CLIENT_MAX_HEADER_LIST_BYTES = 16 * 1024;
export const SERVER_MAX_HEADER_LIST_BYTES = 64 * 1024;
/** Keepalive: a PING every 10 s; no answer within 20 s drops the connection (ztunnel and Envoy). */
export const KEEPALIVE_INTERVAL_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;
/** TCP + TLS + CONNECT answer must complete within this (ztunnel's CONNECTION_TIMEOUT). */
export const DIAL_TIMEOUT_MS = 10_000;
/** A TLS handshake on the server that has not finished by then is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Node's per-session memory cap (MB) for buffered frames. The 10 MB default is below one full
 * connection window (16 MiB), which would make nghttp2 refuse streams under bulk load.
 */
export const MAX_SESSION_MEMORY_MB = 64;

export const SERVER_SETTINGS: Settings = Object.freeze({
  enablePush: false,
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
  maxConcurrentStreams: SERVER_MAX_CONCURRENT_STREAMS,
  maxHeaderListSize: SERVER_MAX_HEADER_LIST_BYTES,
});

export const CLIENT_SETTINGS: Settings = Object.freeze({
  enablePush: false,
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxFrameSize: MAX_FRAME_BYTES,
  maxHeaderListSize: CLIENT_MAX_HEADER_LIST_BYTES,
});
