/**
 * The access record of one HTTP exchange, built from the request context and what the exchange
 * counted. Kept apart from the exchange's state machine: it only reads, once, at the end.
 */
import type { HttpRequestContext } from '../filter/request-context.js';
import type { AccessRecord } from '../telemetry/access-record.js';
import { formatResponseFlags } from '../telemetry/access-record.js';
import type { GrpcStats } from '../telemetry/grpc-stats.js';

/** What the exchange measured, beyond the request context. */
export interface ExchangeCounters {
  /** The path as the client sent it (before rewrites): Envoy's `X-ENVOY-ORIGINAL-PATH?:PATH`. */
  readonly originalPath: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  /** 0 when no response reached the client. */
  readonly responseCode: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly serviceTimeMs: number | undefined;
  readonly destinationPrincipal: string | undefined;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly grpc: GrpcStats | undefined;
}

export function exchangeRecord(ctx: HttpRequestContext, c: ExchangeCounters): AccessRecord {
  const info = ctx.streamInfo;
  const h = ctx.headers;
  return {
    kind: 'http',
    startTime: new Date(ctx.startTime).toISOString(),
    method: ctx.method,
    path: c.originalPath,
    protocol: c.protocol,
    responseCode: c.responseCode,
    responseFlags: formatResponseFlags(info.responseFlags),
    ...(info.responseCodeDetails !== undefined ? { responseCodeDetails: info.responseCodeDetails } : {}),
    bytesReceived: c.bytesReceived,
    bytesSent: c.bytesSent,
    durationMs: Date.now() - ctx.startTime,
    ...(c.serviceTimeMs !== undefined ? { upstreamServiceTimeMs: c.serviceTimeMs } : {}),
    xForwardedFor: h.get('x-forwarded-for'),
    userAgent: h.get('user-agent'),
    requestId: ctx.requestId,
    authority: ctx.authority,
    upstreamHost: info.upstreamHost,
    upstreamCluster: info.upstreamCluster,
    downstreamLocalAddress: c.downstreamLocalAddress,
    downstreamRemoteAddress: c.downstreamRemoteAddress,
    routeName: info.routeName,
    sourcePrincipal: ctx.source.principal,
    destinationService: ctx.destination.hostname,
    destinationPrincipal: c.destinationPrincipal,
    ...(c.grpc ? grpcFields(c.grpc) : {}),
    requestHeaders: h,
  };
}

function grpcFields(g: GrpcStats): Pick<AccessRecord, 'grpc' | 'grpcStatus' | 'requestMessages' | 'responseMessages'> {
  return {
    grpc: true,
    ...(g.status !== undefined ? { grpcStatus: g.status } : {}),
    requestMessages: g.request.messages,
    responseMessages: g.response.messages,
  };
}
