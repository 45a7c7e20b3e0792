/**
 * Access-log lines, in the formats operators' pipelines already parse:
 * - the waypoint: Istio's default Envoy text format (`EnvoyTextLogFormat`, field order of
 *   istio/istio pilot/pkg/model/telemetry_logging.go) or its JSON variant
 *   (`EnvoyJSONLogFormatIstio` keys), one line per HTTP request or TCP connection;
 * - the ztunnel: ztunnel's `connection complete` line (tab-separated timestamp, level, scope,
 *   message and fields) or ztunnel's JSON log shape.
 * Missing values print `-` in text and `null` in JSON, as Envoy's formatter does; numeric
 * commands (`%RESPONSE_CODE%`, `%BYTES_*%`, `%DURATION%`) are JSON numbers.
 */
import type { ConnectionRecord } from '../ztunnel/connection-record.js';
import { formatConnectionRecord } from '../ztunnel/connection-record.js';
import type { AccessRecord } from './access-record.js';

export type AccessLogFormat = 'text' | 'json' | 'off';

export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['text', 'json', 'off'];

export function isAccessLogFormat(v: string): v is AccessLogFormat {
  return (ACCESS_LOG_FORMATS as readonly string[]).includes(v);
}

const DASH = '-';

function dash(v: string | number | undefined): string | number {
  return v === undefined || v === '' ? DASH : v;
}

/** Envoy replaces whitespace in `%RESPONSE_CODE_DETAILS%` so the text line stays splittable. */
const WHITESPACE = /\s/g;

function details(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.replace(WHITESPACE, '_');
}

/**
 * One line of Istio's default text format (without the trailing newline):
 * `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 * "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 * %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 * "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 * %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 * %REQUESTED_SERVER_NAME% %ROUTE_NAME%`
 */
export function formatEnvoyText(r: AccessRecord): string {
  return (
    `[${r.startTime}] "${dash(r.method)} ${dash(r.path)} ${dash(r.protocol)}" ${r.responseCode ?? 0} ${r.responseFlags} ` +
    `${dash(details(r.responseCodeDetails))} ${dash(details(r.connectionTerminationDetails))} "${dash(r.upstreamTransportFailureReason)}" ` +
    `${r.bytesReceived} ${r.bytesSent} ${Math.round(r.durationMs)} ${dash(r.upstreamServiceTimeMs)} ` +
    `"${dash(r.xForwardedFor)}" "${dash(r.userAgent)}" "${dash(r.requestId)}" "${dash(r.authority)}" "${dash(r.upstreamHost)}" ` +
    `${dash(r.upstreamCluster)} ${dash(r.upstreamLocalAddress)} ${dash(r.downstreamLocalAddress)} ${dash(r.downstreamRemoteAddress)} ` +
    `${dash(r.requestedServerName)} ${dash(r.routeName)}`
  );
}

/** Istio's JSON access-log object; keys in the order Envoy prints them (sorted). */
export interface EnvoyJsonLogEntry {
  readonly authority: string | null;
  readonly bytes_received: number;
  readonly bytes_sent: number;
  readonly connection_termination_details: string | null;
  readonly downstream_local_address: string | null;
  readonly downstream_remote_address: string | null;
  readonly duration: number;
  readonly method: string | null;
  readonly path: string | null;
  readonly protocol: string | null;
  readonly request_id: string | null;
  readonly requested_server_name: string | null;
  readonly response_code: number;
  readonly response_code_details: string | null;
  readonly response_flags: string;
  readonly route_name: string | null;
  readonly start_time: string;
  readonly upstream_cluster: string | null;
  readonly upstream_host: string | null;
  readonly upstream_local_address: string | null;
  readonly upstream_service_time: string | null;
  readonly upstream_transport_failure_reason: string | null;
  readonly user_agent: string | null;
  readonly x_forwarded_for: string | null;
}

function orNull(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}

export function envoyJsonEntry(r: AccessRecord): EnvoyJsonLogEntry {
  return {
    authority: orNull(r.authority),
    bytes_received: r.bytesReceived,
    bytes_sent: r.bytesSent,
    connection_termination_details: orNull(r.connectionTerminationDetails),
    downstream_local_address: orNull(r.downstreamLocalAddress),
    downstream_remote_address: orNull(r.downstreamRemoteAddress),
    duration: Math.round(r.durationMs),
    method: orNull(r.method),
    path: orNull(r.path),
    protocol: orNull(r.protocol),
    request_id: orNull(r.requestId),
    requested_server_name: orNull(r.requestedServerName),
    response_code: r.responseCode ?? 0,
    response_code_details: orNull(r.responseCodeDetails),
    response_flags: r.responseFlags,
    route_name: orNull(r.routeName),
    start_time: r.startTime,
    upstream_cluster: orNull(r.upstreamCluster),
    upstream_host: orNull(r.upstreamHost),
    upstream_local_address: orNull(r.upstreamLocalAddress),
    // A response header in Envoy's format, so a string.
    upstream_service_time: r.upstreamServiceTimeMs === undefined ? null : String(r.upstreamServiceTimeMs),
    upstream_transport_failure_reason: orNull(r.upstreamTransportFailureReason),
    user_agent: orNull(r.userAgent),
    x_forwarded_for: orNull(r.xForwardedFor),
  };
}

export function formatEnvoyJson(r: AccessRecord): string {
  return JSON.stringify(envoyJsonEntry(r));
}

/** ztunnel's text line: `<time>\tinfo\taccess\tconnection complete src.addr=… …`. */
export function formatZtunnelText(r: ConnectionRecord, now: Date = new Date()): string {
  return `${now.toISOString()}\t${r.failure ? 'error' : 'info'}\taccess\t${formatConnectionRecord(r)}`;
}

/** ztunnel's JSON log shape: level, time, scope, message, then the same fields as the text line. */
export function formatZtunnelJson(r: ConnectionRecord, now: Date = new Date()): string {
  const o: Record<string, string | number> = {
    level: r.failure ? 'error' : 'info',
    time: now.toISOString(),
    scope: 'access',
    message: 'connection complete',
    'src.addr': r.srcAddr,
  };
  const add = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') o[k] = v;
  };
  add('src.workload', r.srcWorkload);
  add('src.namespace', r.srcNamespace);
  add('src.identity', r.srcIdentity);
  add('dst.addr', r.dstAddr);
  add('dst.hbone_addr', r.dstHboneAddr);
  add('dst.service', r.dstService);
  add('dst.workload', r.dstWorkload);
  add('dst.namespace', r.dstNamespace);
  add('dst.identity', r.dstIdentity);
  add('dst.waypoint', r.waypoint);
  add('dst.waypoint_role', r.waypointRole);
  o['direction'] = r.direction;
  o['bytes_sent'] = r.bytesSent;
  o['bytes_recv'] = r.bytesRecv;
  o['duration'] = `${Math.round(r.durationMs)}ms`;
  add('response_flag', r.responseFlag);
  add('error', r.error);
  return JSON.stringify(o);
}
