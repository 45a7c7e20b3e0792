/**
 * The OTLP span the waypoint exports, in OTLP's JSON mapping (hex ids, nanoseconds as decimal
 * strings), built from the waypoint's access record and its trace context with Istio's span
 * attributes (`istio.*`, `http.*`, `upstream_cluster`, `response_flags`, `guid:x-request-id`...).
 * The transports (`otlp-http-transport.ts`, `otlp-grpc-transport.ts`) encode it for the wire.
 */
import type { AccessRecord } from './access-record.js';
import type { TraceContext } from './trace-context.js';
import type { SpanTag } from './tracing-policy.js';

type AttrValue = { readonly stringValue: string } | { readonly intValue: string };

export interface OtlpAttribute {
  readonly key: string;
  readonly value: AttrValue;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 2 = SPAN_KIND_SERVER. */
  readonly kind: 2;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: readonly OtlpAttribute[];
  /** 2 = STATUS_CODE_ERROR for 5xx or no response, else 0 (unset). */
  readonly status: { readonly code: 0 | 2 };
}

export interface SpanIdentity {
  /** `istio.canonical_service` of the waypoint. */
  readonly canonicalService: string;
  readonly namespace: string;
  /** Istio's `node_id`. */
  readonly nodeId: string;
  readonly meshId?: string;
  /** Istio's `zone` (the proxy's locality zone), when known. */
  readonly zone?: string;
}

function str(key: string, v: string | undefined): OtlpAttribute | undefined {
  return v === undefined || v === '' ? undefined : { key, value: { stringValue: v } };
}

function int(key: string, v: number): OtlpAttribute {
  return { key, value: { intValue: String(Math.round(v)) } };
}

/** One SERVER span for a request through the waypoint. */
export function spanFromRecord(r: AccessRecord, ctx: TraceContext, id: SpanIdentity, customTags: readonly SpanTag[] = []): OtlpSpan {
  const startMs = r.startTimeMs ?? Date.parse(r.startTime);
  const start = BigInt(startMs) * 1_000_000n;
  const end = start + BigInt(Math.max(0, Math.round(r.durationMs * 1e6)));
  const code = r.responseCode ?? 0;
  const attrs = [
    str('node_id', id.nodeId),
    str('zone', id.zone),
    str('guid:x-request-id', r.requestId),
    str('http.url', r.authority && r.path ? `http://${r.authority}${r.path}` : undefined),
    str('http.method', r.method),
    str('http.protocol', r.protocol),
    str('downstream_cluster', '-'),
    str('user_agent', r.userAgent),
    str('peer.address', r.downstreamRemoteAddress.slice(0, r.downstreamRemoteAddress.lastIndexOf(':'))),
    int('request_size', r.bytesReceived),
    int('response_size', r.bytesSent),
    str('component', 'proxy'),
    str('upstream_cluster', r.upstreamCluster),
    str('upstream_cluster.name', r.upstreamCluster),
    str('upstream_address', r.upstreamHost),
    str('http.status_code', String(code)),
    str('response_flags', r.responseFlags),
    str('grpc.status_code', r.grpcStatus === undefined ? undefined : String(r.grpcStatus)),
    str('istio.canonical_service', id.canonicalService),
    str('istio.namespace', id.namespace),
    str('istio.mesh_id', id.meshId ?? 'cluster.local'),
  ].filter((a): a is OtlpAttribute => a !== undefined);
  for (const t of customTags) {
    const value = 'value' in t ? t.value : (r.requestHeaders?.get(t.header) ?? t.defaultValue);
    if (value !== undefined) attrs.push({ key: t.key, value: { stringValue: value } });
  }
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    ...(ctx.parentSpanId ? { parentSpanId: ctx.parentSpanId } : {}),
    // Envoy's default operation name for a waypoint route: `<host>:<port>/*`.
    name: `${r.destinationService ?? r.authority ?? 'unknown'}:${r.downstreamLocalAddress.slice(r.downstreamLocalAddress.lastIndexOf(':') + 1)}/*`,
    kind: 2,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: end.toString(),
    attributes: attrs,
    status: { code: code === 0 || code >= 500 ? 2 : 0 },
  };
}
