/**
 * What an HTTP exchange is given: the facts every request of one downstream tunnel shares
 * ({@link HttpConnection}) and the waypoint's shared parts ({@link ExchangeDeps}).
 */
import type { DestinationInfo, SourceInfo } from '../filter/api.js';
import type { AccessLogSink } from '../telemetry/access-record.js';
import type { WaypointTracer } from '../telemetry/waypoint-tracer.js';
import type { UpstreamDispatcher, UpstreamHttpVersion } from '../upstream/http-client.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import type { ResilienceDeps } from './exchange-resilience.js';
import type { RequestConfig } from './request-config.js';

/** What every request of one downstream tunnel shares. */
export interface HttpConnection {
  /**
   * The config snapshot a new request runs with (routes, filter chain, path normalization),
   * taken once per request, never per tunnel: a request in flight keeps what it started with.
   */
  readonly config: () => RequestConfig;
  readonly destination: DestinationInfo;
  readonly source: SourceInfo;
  /** The CONNECT target (`VIP:port`): Envoy's downstream local address. */
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly upstreamVersion: UpstreamHttpVersion;
}

export interface ExchangeDeps extends ResilienceDeps {
  readonly lb: LeastRequestBalancer;
  readonly upstream: UpstreamDispatcher;
  readonly accessLog: AccessLogSink | undefined;
  /** Set when tracing is configured: spans per request, context propagated upstream. */
  readonly tracer?: WaypointTracer | undefined;
  readonly random: () => number;
}
