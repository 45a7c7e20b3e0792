/**
 * Spans to an OpenTelemetry collector over OTLP/HTTP with JSON bodies (`POST <endpoint>/v1/traces`,
 * `ExportTraceServiceRequest`), batched and never blocking the data path: `export()` only queues;
 * a timer (or a full batch) sends; a full queue drops the span and counts it; a slow or failing
 * collector costs nothing but dropped spans.
 *
 * Spans are built from the waypoint's access record and its trace context, with Istio's span
 * attributes (`istio.*`, `http.*`, `upstream_cluster`, `response_flags`, `guid:x-request-id`...).
 */
import type { AccessRecord } from './access-record.js';
import type { TraceContext } from './trace-context.js';

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
export function spanFromRecord(r: AccessRecord, ctx: TraceContext, id: SpanIdentity): OtlpSpan {
  const startMs = Date.parse(r.startTime);
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

export interface OtlpExporterOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:4318`; spans go to `<url>/v1/traces`. */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly maxBatch?: number;
  readonly maxQueue?: number;
  readonly flushIntervalMs?: number;
  readonly timeoutMs?: number;
}

export class OtlpHttpExporter {
  private queue: OtlpSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight = new Set<Promise<void>>();
  private readonly url: string;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly flushIntervalMs: number;
  private readonly timeoutMs: number;
  private closed = false;
  /** Spans dropped (queue full, collector failure). */
  dropped = 0;
  /** Spans the collector accepted. */
  sent = 0;

  constructor(private readonly opts: OtlpExporterOptions) {
    this.url = `${opts.endpoint.replace(/\/$/, '')}/v1/traces`;
    this.maxBatch = opts.maxBatch ?? 512;
    this.maxQueue = opts.maxQueue ?? 2048;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** Queues one span; never blocks, never throws. */
  export(span: OtlpSpan): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatch) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Sends what is queued now (in batches of `maxBatch`). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const p = this.send(batch).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  /** Flushes, waits for sends up to the deadline, then stops accepting. */
  async close(deadlineMs: number): Promise<void> {
    this.flush();
    this.closed = true;
    await Promise.race([Promise.all([...this.inflight]), new Promise((r) => setTimeout(r, deadlineMs).unref())]);
  }

  private async send(spans: OtlpSpan[]): Promise<void> {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: this.opts.serviceName } }] },
          scopeSpans: [{ scope: { name: 'ambient-waypoint' }, spans }],
        },
      ],
    });
    try {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      if (res.ok) this.sent += spans.length;
      else this.dropped += spans.length;
    } catch {
      this.dropped += spans.length;
    }
  }
}
