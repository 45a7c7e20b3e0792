/**
 * What an HTTP exchange is given: the facts every request of one downstream tunnel shares
 * ({@link HttpConnection}) and the waypoint's shared parts ({@link ExchangeDeps}).
 */
import type { DestinationInfo, SourceInfo } from '../filter/api.js';
import type { FilterChain } from '../filter/chain.js';
import type { FailureCode } from '../failures.js';
import type { PathNormalization } from '../security/path-normalization.js';
import type { AccessLogSink } from '../telemetry/access-record.js';
import type { WaypointTracer } from '../telemetry/waypoint-tracer.js';
import type { UpstreamDispatcher, UpstreamHttpVersion } from '../upstream/http-client.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import type { ResilienceDeps } from './exchange-resilience.js';
import type { RouteTable } from './router.js';

/** What every request of one downstream tunnel shares. */
export interface HttpConnection {
  readonly routes: RouteTable;
  readonly chain: FilterChain;
  readonly destination: DestinationInfo;
  readonly source: SourceInfo;
  /** The CONNECT target (`VIP:port`): Envoy's downstream local address. */
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly upstreamVersion: UpstreamHttpVersion;
  /** The mesh's path normalization (default `BASE`). */
  readonly pathNormalization?: PathNormalization;
  /**
   * Set when the tunnel's Service port is no longer served by this waypoint (unbound, deleted):
   * every request gets this local reply, without filters or routes, and the connection ends.
   */
  readonly refusal?: FailureCode;
}

/**
 * The facts of one tunnel's requests as of the current config. Each new request reads it, as
 * Envoy's connection manager takes the current route config per stream: a reload (routes,
 * policies, plugins) reaches the next request on a long-lived keep-alive connection, while a
 * request in flight keeps what it started with.
 */
export interface HttpConnectionSource {
  current(): HttpConnection;
}

/** A source that never changes (tests, one-shot uses). */
export function fixedConnection(conn: HttpConnection): HttpConnectionSource {
  return { current: () => conn };
}

export interface ExchangeDeps extends ResilienceDeps {
  readonly lb: LeastRequestBalancer;
  readonly upstream: UpstreamDispatcher;
  readonly accessLog: AccessLogSink | undefined;
  /** Set when tracing is configured: spans per request, context propagated upstream. */
  readonly tracer?: WaypointTracer | undefined;
  readonly random: () => number;
}
