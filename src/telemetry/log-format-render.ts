/**
 * Renders an access record with a custom Envoy format ({@link LogFormatIR}, parsed at config
 * time by `config/log-format.ts`). Commands read the record's fields as Envoy's formatter reads
 * stream info: missing values are `-` in text and `null` in JSON; a JSON value made of one
 * numeric command stays a number. `%REQ(...)%` reads the request headers as the filters left
 * them; `%RESP(...)%` knows only `x-envoy-upstream-service-time` (the record keeps no other
 * response header).
 */
import type { LogFormatIR, LogSegmentIR, LogTemplateIR } from '../config/log-format.js';
import type { AccessRecord } from './access-record.js';
import { hostOf } from './istio-labels.js';

type Value = string | number | undefined;

const WHITESPACE = /\s/g;

function header(r: AccessRecord, name: string): string | undefined {
  switch (name) {
    case ':method':
      return r.method;
    case ':path':
    case 'x-envoy-original-path':
      return r.path;
    case ':authority':
    case 'host':
      return r.authority;
    case ':scheme':
      return undefined;
    default:
      return r.requestHeaders?.get(name);
  }
}

/** `X?Y`: header X, else header Y (Envoy's alternative syntax). */
function request(r: AccessRecord, arg: string | undefined): string | undefined {
  if (arg === undefined) return undefined;
  for (const name of arg.split('?')) {
    const v = header(r, name.trim().toLowerCase());
    if (v !== undefined) return v;
  }
  return undefined;
}

function value(s: Exclude<LogSegmentIR, string>, r: AccessRecord): Value {
  switch (s.command) {
    case 'START_TIME':
      return r.startTime;
    case 'REQ':
      return request(r, s.arg);
    case 'RESP':
      return s.arg?.trim().toLowerCase() === 'x-envoy-upstream-service-time' && r.upstreamServiceTimeMs !== undefined ? String(r.upstreamServiceTimeMs) : undefined;
    case 'PROTOCOL':
      return r.protocol;
    case 'RESPONSE_CODE':
      return r.responseCode ?? 0;
    case 'RESPONSE_FLAGS':
      return r.responseFlags;
    case 'RESPONSE_CODE_DETAILS':
      return r.responseCodeDetails?.replace(WHITESPACE, '_');
    case 'CONNECTION_TERMINATION_DETAILS':
      return r.connectionTerminationDetails?.replace(WHITESPACE, '_');
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
      return r.upstreamTransportFailureReason;
    case 'BYTES_RECEIVED':
      return r.bytesReceived;
    case 'BYTES_SENT':
      return r.bytesSent;
    case 'DURATION':
      return Math.round(r.durationMs);
    case 'UPSTREAM_HOST':
      return r.upstreamHost;
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return r.upstreamCluster;
    case 'UPSTREAM_LOCAL_ADDRESS':
      return r.upstreamLocalAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return r.downstreamLocalAddress;
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return r.downstreamRemoteAddress;
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return hostOf(r.downstreamRemoteAddress);
    case 'DOWNSTREAM_PEER_URI_SAN':
      return r.sourcePrincipal;
    case 'REQUESTED_SERVER_NAME':
      return r.requestedServerName;
    case 'ROUTE_NAME':
      return r.routeName;
    case 'GRPC_STATUS_NUMBER':
      return r.grpcStatus;
    default:
      return undefined;
  }
}

function text(s: Exclude<LogSegmentIR, string>, r: AccessRecord): string {
  const v = value(s, r);
  if (v === undefined || v === '') return '-';
  const str = String(v);
  return s.maxLength !== undefined && str.length > s.maxLength ? str.slice(0, s.maxLength) : str;
}

function renderTemplate(t: LogTemplateIR, r: AccessRecord): string {
  let out = '';
  for (const s of t) out += typeof s === 'string' ? s : text(s, r);
  return out;
}

function jsonValue(t: LogTemplateIR, r: AccessRecord): string | number | null {
  const only = t.length === 1 ? t[0] : undefined;
  if (only !== undefined && typeof only !== 'string') {
    const v = value(only, r);
    if (v === undefined || v === '') return null;
    if (typeof v === 'number') return v;
    return only.maxLength !== undefined && v.length > only.maxLength ? v.slice(0, only.maxLength) : v;
  }
  return renderTemplate(t, r);
}

/** The line (without newline) for one record. */
export function renderLogFormat(f: LogFormatIR, r: AccessRecord): string {
  if (f.kind === 'text') return renderTemplate(f.template, r);
  const o: Record<string, string | number | null> = {};
  for (const [key, t] of f.labels) o[key] = jsonValue(t, r);
  return JSON.stringify(o);
}
