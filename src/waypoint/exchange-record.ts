/**
 * The access record of one HTTP exchange, built from the request context and what the exchange
 * counted. Kept apart from the exchange's state machine: it only reads, once, at the end.
 *
 * Every request builds one (metrics take their labels from it even with access logs off), so it
 * is a class with one fixed shape, not an object literal with conditional spreads, and what only
 * a log line or a span reads is computed when read: the ISO start time, `x-forwarded-for` and
 * `user-agent` (the request headers are kept by reference anyway).
 */
import type { HttpRequestContext } from '../filter/request-context.js';
import type { AccessRecord } from '../telemetry/access-record.js';
import { formatResponseFlags } from '../telemetry/access-record.js';
import type { GrpcStats } from '../telemetry/grpc-stats.js';
import type { HeaderMap } from '../filter/header-map.js';

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

export class HttpExchangeRecord implements AccessRecord {
  readonly kind = 'http' as const;
  /** `%START_TIME%` as epoch milliseconds; {@link startTime} formats it when a sink reads it. */
  readonly startTimeMs: number;
  readonly method: string;
  readonly path: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly responseCodeDetails: string | undefined;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamServiceTimeMs: number | undefined;
  readonly requestId: string;
  readonly authority: string;
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly routeName: string | undefined;
  readonly sourcePrincipal: string | undefined;
  readonly destinationService: string | undefined;
  readonly destinationPrincipal: string | undefined;
  readonly grpc: true | undefined;
  readonly grpcStatus: number | undefined;
  readonly requestMessages: number | undefined;
  readonly responseMessages: number | undefined;
  readonly requestHeaders: HeaderMap;
  private isoStart: string | undefined;

  constructor(ctx: HttpRequestContext, c: ExchangeCounters) {
    const info = ctx.streamInfo;
    this.startTimeMs = ctx.startTime;
    this.method = ctx.method;
    this.path = c.originalPath;
    this.protocol = c.protocol;
    this.responseCode = c.responseCode;
    this.responseFlags = formatResponseFlags(info.responseFlags);
    this.responseCodeDetails = info.responseCodeDetails;
    this.bytesReceived = c.bytesReceived;
    this.bytesSent = c.bytesSent;
    this.durationMs = Date.now() - ctx.startTime;
    this.upstreamServiceTimeMs = c.serviceTimeMs;
    this.requestId = ctx.requestId;
    this.authority = ctx.authority;
    this.upstreamHost = info.upstreamHost;
    this.upstreamCluster = info.upstreamCluster;
    this.downstreamLocalAddress = c.downstreamLocalAddress;
    this.downstreamRemoteAddress = c.downstreamRemoteAddress;
    this.routeName = info.routeName;
    this.sourcePrincipal = ctx.source.principal;
    this.destinationService = ctx.destination.hostname;
    this.destinationPrincipal = c.destinationPrincipal;
    const g = c.grpc;
    this.grpc = g ? true : undefined;
    this.grpcStatus = g?.status;
    this.requestMessages = g?.request.messages;
    this.responseMessages = g?.response.messages;
    this.requestHeaders = ctx.headers;
  }

  /** ISO-8601 `%START_TIME%`, formatted on first read (only log lines and spans read it). */
  get startTime(): string {
    return (this.isoStart ??= new Date(this.startTimeMs).toISOString());
  }

  get xForwardedFor(): string | undefined {
    return this.requestHeaders.get('x-forwarded-for');
  }

  get userAgent(): string | undefined {
    return this.requestHeaders.get('user-agent');
  }
}

export function exchangeRecord(ctx: HttpRequestContext, c: ExchangeCounters): AccessRecord {
  return new HttpExchangeRecord(ctx, c);
}
