/**
 * The waypoint's upstream HTTP client: sends a request to one chosen endpoint.
 *
 * - In-mesh endpoints (`protocol: HBONE`): over an HBONE CONNECT stream to `podIP:15008` with
 *   `:authority podIP:targetPort`, the waypoint's own certificate, and the endpoint workload's
 *   identity expected — what Envoy's `connect_originate` does (reference §2.2 / §2.4 hop 3).
 * - Out-of-mesh endpoints (`protocol: TCP`): plain TCP to `podIP:targetPort`.
 *
 * One pool per endpoint (and protocol, identity, version and connection settings): every pooled
 * connection is one CONNECT stream (or TCP socket) carrying keep-alive requests, reused across
 * requests. HTTP/1.1 goes through the waypoint's own client (./h1/: a strict incremental parser,
 * one request per connection at a time). For `http2`/`grpc` ports the waypoint's own HTTP/2
 * client (./h2/) runs one `node:http2` session per connection (the tunnel or socket handed over
 * through `createConnection`), multiplexing streams up to the peer's limit. Neither loads undici.
 */
const http = process.getBuiltinModule('node:http');
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FailureCode } from '../failures.js';
import { HBONE_PORT } from '../config/ir.js';
import type { HboneDial, HboneDialResult } from '../hbone/types.js';
import type { TlsMaterial } from '../identity/tls-material.js';
import { connectTcp } from '../net/sockets.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { H1ErrorCode } from './h1/h1-error.js';
import { H1Pool } from './h1/h1-pool.js';
import type { H2ErrorCode } from './h2/h2-error.js';
import { H2Pool } from './h2/h2-pool.js';
import { endpointAddress } from './lb.js';
import type { AttemptFailure } from './retry-state.js';

/** HTTP version spoken to the upstream inside the tunnel. */
export type UpstreamHttpVersion = 'h1' | 'h2';

/**
 * Per-cluster connection settings (DestinationRule `connectionPool`), applied to the endpoint's
 * pool: `tcp.maxConnections` (connections per endpoint), `http.maxRequestsPerConnection`,
 * `http.idleTimeout` (idle keep-alive connections close after it).
 */
export interface UpstreamPoolSettings {
  readonly maxConnections?: number;
  readonly maxRequestsPerConnection?: number;
  readonly idleTimeoutMs?: number;
}

/** What dispatch needs: the subset of undici the proxy uses (a fake in unit tests). */
export interface UpstreamDispatcher {
  dispatch(
    ep: Endpoint,
    version: UpstreamHttpVersion,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    settings?: UpstreamPoolSettings,
  ): void;
  /** Drops pools of endpoints not in `live` (keys from {@link endpointAddress}). */
  retain(live: ReadonlySet<string>): void;
  close(deadlineMs: number): Promise<void>;
}

export interface UpstreamHttpClientOptions {
  /** Opens one HBONE tunnel (HbonePool.dial). */
  readonly dial: (d: HboneDial) => Promise<HboneDialResult>;
  /** The waypoint's current certificate (CertSource caches and rotates it). */
  readonly source: () => Promise<TlsMaterial>;
  /** Source address for upstream connections (the waypoint's own address), read per connection. */
  readonly localAddress?: () => string | undefined;
  /** Idle keep-alive connections are closed after this (undici also honours `Keep-Alive: timeout`). */
  readonly keepAliveTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

/** A connection that could not be opened; carries the failure code the proxy reports. */
export class UpstreamConnectError extends Error {
  constructor(
    readonly failure: FailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamConnectError';
  }
}

const DEFAULT_KEEPALIVE_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** One endpoint's pool, whichever client speaks its version. */
interface EndpointPool {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export class UpstreamHttpClient implements UpstreamDispatcher {
  private readonly pools = new Map<string, { readonly pool: EndpointPool; readonly address: string }>();
  private closed = false;

  constructor(private readonly opts: UpstreamHttpClientOptions) {}

  dispatch(
    ep: Endpoint,
    version: UpstreamHttpVersion,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
    settings?: UpstreamPoolSettings,
  ): void {
    this.poolFor(ep, version, settings).dispatch(options, handler);
  }

  /** Active pools (tests, admin). */
  get poolCount(): number {
    return this.pools.size;
  }

  retain(live: ReadonlySet<string>): void {
    for (const [key, entry] of this.pools) {
      if (live.has(entry.address)) continue;
      this.pools.delete(key);
      // In-flight requests finish; the pool closes its connections after them.
      entry.pool.close().catch(() => undefined);
    }
  }

  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()].map((e) => e.pool);
    this.pools.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
      timer.unref();
    });
    const drained = Promise.all(pools.map((p) => p.close().catch(() => undefined)));
    const how = await Promise.race([drained.then(() => 'drained' as const), deadline]);
    if (timer) clearTimeout(timer);
    if (how === 'deadline') await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  private poolFor(ep: Endpoint, version: UpstreamHttpVersion, settings: UpstreamPoolSettings | undefined): EndpointPool {
    const address = endpointAddress(ep);
    // The identity is part of the key: a new pod reusing an IP must not get the old pod's tunnels.
    // Connection settings too: a DestinationRule change gets a pool built with the new ones.
    const key = settings
      ? `${ep.workload.protocol}|${ep.workload.identity}|${address}|${version}|${settings.maxConnections}|${settings.maxRequestsPerConnection}|${settings.idleTimeoutMs}`
      : `${ep.workload.protocol}|${ep.workload.identity}|${address}|${version}`;
    const existing = this.pools.get(key);
    if (existing) return existing.pool;
    const keepAliveTimeoutMs = settings?.idleTimeoutMs ?? this.opts.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_MS;
    const pool: EndpointPool =
      version === 'h2'
        ? new H2Pool({
            open: () => this.open(ep),
            authority: address,
            keepAliveTimeoutMs,
            maxConnections: settings?.maxConnections,
            maxRequestsPerConnection: settings?.maxRequestsPerConnection,
          })
        : new H1Pool({
            open: () => this.open(ep),
            defaultHost: address,
            keepAliveTimeoutMs,
            maxConnections: settings?.maxConnections,
            maxRequestsPerConnection: settings?.maxRequestsPerConnection,
            maxHeaderSize: http.maxHeaderSize,
          });
    if (this.closed) void pool.destroy();
    else this.pools.set(key, { pool, address });
    return pool;
  }

  private async open(ep: Endpoint): Promise<Duplex> {
    const w = ep.workload;
    const localAddress = this.opts.localAddress?.();
    let stream: Duplex;
    if (w.protocol === 'TCP') {
      const r = await connectTcp({
        host: w.ip,
        port: ep.targetPort,
        timeoutMs: this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        ...(localAddress ? { localAddress } : {}),
      });
      if (!r.ok) throw new UpstreamConnectError('UPSTREAM_CONNECT_FAILED', r.message);
      stream = r.value;
    } else {
      const source = await this.opts.source();
      const r = await this.opts.dial({
        source,
        expectedIdentities: [w.identity],
        address: w.ip,
        port: HBONE_PORT,
        authority: endpointAddress(ep),
        ...(localAddress ? { localAddress } : {}),
      });
      if (!r.ok) throw new UpstreamConnectError(upstreamCodeOfDial(r.code), r.message);
      stream = r.stream;
    }
    return stream;
  }
}

/** A failed dial is a connect failure to the router, whatever the tunnel said (UF). */
function upstreamCodeOfDial(code: FailureCode): FailureCode {
  return code === 'UPSTREAM_IDENTITY_MISMATCH' ? code : 'UPSTREAM_CONNECT_FAILED';
}

/** Our clients' codes for a response that broke the protocol (Envoy's UPE). */
const PROTOCOL_ERRORS: ReadonlySet<string> = new Set<H1ErrorCode | H2ErrorCode>(['H1_MALFORMED_RESPONSE', 'H1_HEADERS_TOO_LARGE', 'H2_MALFORMED_RESPONSE']);
/** Requests our clients refuse to write (a CR/LF in a header value...), before any byte leaves. */
const INVALID_REQUEST_CODES: ReadonlySet<string> = new Set<H1ErrorCode | H2ErrorCode | 'UND_ERR_INVALID_ARG'>(['H1_INVALID_REQUEST', 'H2_INVALID_REQUEST', 'UND_ERR_INVALID_ARG']);

/**
 * Maps an error the upstream client (./h1/ or ./h2/) reported for a request
 * to the failure the proxy answers with, given whether the request had been put on a connection.
 */
export function upstreamFailureOf(err: Error, sentOnConnection: boolean): FailureCode {
  if (err instanceof UpstreamConnectError) return err.failure;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string' && PROTOCOL_ERRORS.has(code)) return 'UPSTREAM_PROTOCOL_ERROR';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'UPSTREAM_CONNECT_FAILED';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'UPSTREAM_TIMEOUT';
    default:
      break;
  }
  if (err.name === 'HTTPParserError' || (typeof code === 'string' && code.startsWith('HPE_'))) return 'UPSTREAM_PROTOCOL_ERROR';
  return sentOnConnection ? 'UPSTREAM_RESET' : 'UPSTREAM_CONNECT_FAILED';
}

/**
 * True when the upstream refused an HTTP/2 stream (RST_STREAM REFUSED_STREAM, or a GOAWAY whose
 * last-stream-id is below it): it was not processed, so it is safe to retry.
 */
export function isRefusedStream(err: Error): boolean {
  const code = (err as Error & { code?: unknown }).code;
  return code === 'H2_REFUSED_STREAM' || code === 'NGHTTP2_REFUSED_STREAM' || err.message.includes('REFUSED_STREAM');
}

/** A failed attempt as the router sees it: the reply, the retry condition, the outlier status. */
export interface AttemptFailureInfo {
  readonly code: FailureCode;
  readonly kind: AttemptFailure;
  /** What outlier detection counts it as (Envoy maps local-origin failures to 503, timeouts to 504). */
  readonly status: number;
}

const INVALID_REQUEST: AttemptFailureInfo = Object.freeze({ code: 'INVALID_UPSTREAM_REQUEST_HEADERS', kind: 'invalid-request', status: 0 });

/** Classifies an upstream client error for an attempt that had (or had not) been put on a connection. */
export function attemptFailureOf(err: Error, connected: boolean): AttemptFailureInfo {
  // The client refuses a request it cannot write (a header value with CR/LF...) before any byte
  // leaves: the request's fault, not the endpoint's (status 0: outlier detection ignores it).
  const errCode = (err as Error & { code?: unknown }).code;
  if (typeof errCode === 'string' && INVALID_REQUEST_CODES.has(errCode)) return INVALID_REQUEST;
  const code = upstreamFailureOf(err, connected);
  let kind: AttemptFailure;
  if (!connected) kind = code === 'UPSTREAM_CONNECT_FAILED' || code === 'UPSTREAM_IDENTITY_MISMATCH' ? 'connect-failure' : 'reset-before-request';
  else kind = isRefusedStream(err) ? 'refused-stream' : 'reset';
  return { code, kind, status: code === 'UPSTREAM_TIMEOUT' ? 504 : 503 };
}
