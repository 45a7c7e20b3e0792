/**
 * The access record: one per HTTP request and one per TCP connection through the waypoint,
 * carrying every field of Istio's default Envoy access-log format (`EnvoyTextLogFormat` /
 * `EnvoyJSONLogFormatIstio`), so a formatter can print Istio's text or JSON lines from it and
 * metrics can take their labels from it. Field names follow the JSON format's keys, camel-cased.
 *
 * Values are recorded raw (numbers, `undefined` for "not applicable"); formatting `-` for
 * missing values is the formatter's job.
 */
import type { ByteTally } from '../net/splice.js';

export interface AccessRecord {
  readonly kind: 'http' | 'tcp';
  /** ISO-8601 start time (`%START_TIME%`). */
  readonly startTime: string;
  /** The same instant as epoch milliseconds, when the producer has it (spans need no parse then). */
  readonly startTimeMs?: number;
  /** `%REQ(:METHOD)%`; undefined for TCP. */
  readonly method?: string;
  /** `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`; undefined for TCP. */
  readonly path?: string;
  /** `HTTP/1.1`, `HTTP/2`, or undefined for TCP (Envoy logs `-`). */
  readonly protocol?: string;
  /** `%RESPONSE_CODE%`: 0 when no response was sent (Envoy's convention), undefined for TCP. */
  readonly responseCode?: number;
  /** `%RESPONSE_FLAGS%`: comma-joined, `-` when none. */
  readonly responseFlags: string;
  /** `%RESPONSE_CODE_DETAILS%` (`via_upstream`, `no_healthy_upstream`...). */
  readonly responseCodeDetails?: string;
  /** `%CONNECTION_TERMINATION_DETAILS%`. */
  readonly connectionTerminationDetails?: string;
  /** `%UPSTREAM_TRANSPORT_FAILURE_REASON%`. */
  readonly upstreamTransportFailureReason?: string;
  /** `%BYTES_RECEIVED%`: request body bytes (HTTP) or bytes from the client (TCP). */
  readonly bytesReceived: number;
  /** `%BYTES_SENT%`: response body bytes (HTTP) or bytes to the client (TCP). */
  readonly bytesSent: number;
  /** `%DURATION%` in ms: from start to the last byte sent (HTTP) or connection close (TCP). */
  readonly durationMs: number;
  /** `%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%` in ms, when a response came from upstream. */
  readonly upstreamServiceTimeMs?: number;
  /** `%REQ(X-FORWARDED-FOR)%`. */
  readonly xForwardedFor?: string;
  /** `%REQ(USER-AGENT)%`. */
  readonly userAgent?: string;
  /** `%REQ(X-REQUEST-ID)%`. */
  readonly requestId?: string;
  /** `%REQ(:AUTHORITY)%`. */
  readonly authority?: string;
  /** `%UPSTREAM_HOST%`: `podIP:targetPort` of the chosen endpoint. */
  readonly upstreamHost?: string;
  /** `%UPSTREAM_CLUSTER_RAW%`: `inbound-vip|<port>|http|<hostname>` (`tcp` for TCP). */
  readonly upstreamCluster?: string;
  /** `%UPSTREAM_LOCAL_ADDRESS%`. */
  readonly upstreamLocalAddress?: string;
  /** `%DOWNSTREAM_LOCAL_ADDRESS%`: the CONNECT target (`VIP:port`), as Envoy restores it. */
  readonly downstreamLocalAddress: string;
  /** `%DOWNSTREAM_REMOTE_ADDRESS%`: the client's `ip:port` (the HBONE peer). */
  readonly downstreamRemoteAddress: string;
  /** `%REQUESTED_SERVER_NAME%` (SNI); none on HBONE. */
  readonly requestedServerName?: string;
  /** `%ROUTE_NAME%`. */
  readonly routeName?: string;
  /** `%DOWNSTREAM_PEER_URI_SAN%`: the source principal. */
  readonly sourcePrincipal?: string;
  /** The destination Service hostname (metrics' `destination_service`). */
  readonly destinationService?: string;
  /** Identity of the chosen endpoint (metrics' `destination_principal`). */
  readonly destinationPrincipal?: string;
  /** The request is gRPC (`content-type: application/grpc*`): metrics' `request_protocol="grpc"`. */
  readonly grpc?: boolean;
  /** `%GRPC_STATUS_NUMBER%`: from response headers (trailers-only, local replies) or trailers. */
  readonly grpcStatus?: number;
  /** gRPC messages the client sent / the server answered (length-prefixed frames). */
  readonly requestMessages?: number;
  readonly responseMessages?: number;
  /**
   * The request's headers as the filters left them (Envoy's `request.headers` attribute), for
   * Telemetry tag overrides; a reference, never copied.
   */
  readonly requestHeaders?: { get(name: string): string | undefined };
  /** TCP: the sink was told when the connection opened ({@link AccessLogSink.opened}). */
  readonly openReported?: true;
  /** TCP: the live byte counts (`aToB` from the client, `bToA` to it) while the connection is open. */
  readonly tally?: ByteTally;
}

/**
 * Where records go. Must not throw; must not block (buffering is the sink's business). A sink
 * with `opened` is also told when a TCP connection starts to carry bytes (a partial record), so
 * opened connections are counted while they last.
 */
export type AccessLogSink = ((record: AccessRecord) => void) & { readonly opened?: (record: AccessRecord) => void };

/** Envoy prints flags in the order of its flag table (`ResponseFlagUtils`), not the order set: `UF,URX`. */
const ENVOY_FLAG_ORDER: ReadonlyMap<string, number> = new Map(
  ['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR'].map(
    (f, i) => [f, i],
  ),
);

function flagRank(flag: string): number {
  return ENVOY_FLAG_ORDER.get(flag) ?? ENVOY_FLAG_ORDER.size;
}

/** Envoy's `%RESPONSE_FLAGS%` rendering of a flag list. */
export function formatResponseFlags(flags: readonly string[]): string {
  if (flags.length === 0) return '-';
  if (flags.length === 1) return flags[0] as string;
  return [...flags].sort((a, b) => flagRank(a) - flagRank(b)).join(',');
}

/** `inbound-vip|<port>|<http|tcp>|<hostname>`: Istio's waypoint cluster name. */
export function waypointClusterName(kind: 'http' | 'tcp', port: number, hostname: string): string {
  return `inbound-vip|${port}|${kind}|${hostname}`;
}
