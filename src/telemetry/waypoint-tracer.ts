/**
 * Tracing at the waypoint, per request: continue the caller's W3C or B3 context (or start a trace,
 * sampled at the configured percentage), hand the upstream a context whose parent is the
 * waypoint's span, and when the request is over export that span (OTLP/HTTP, batched).
 *
 * The data path calls `begin` once when the request arrives, `inject` once before it goes
 * upstream, and `end` with the access record; export only queues, so a slow collector never
 * delays a request.
 */
import type { HeaderMap } from '../filter/header-map.js';
import type { AccessRecord } from './access-record.js';
import type { OtlpHttpExporter, SpanIdentity } from './otlp-exporter.js';
import { spanFromRecord } from './otlp-exporter.js';
import type { IncomingContext, TraceContext } from './trace-context.js';
import { b3Headers, formatTraceparent, parseB3Multi, parseB3Single, parseTraceparent, startSpan } from './trace-context.js';

/** This request's span and how its caller propagated (B3 callers get B3 headers back upstream). */
export interface RequestSpan {
  readonly ctx: TraceContext;
  readonly b3: boolean;
}

export interface WaypointTracerOptions {
  readonly exporter: OtlpHttpExporter;
  /** Istio's `sampling`: percent of new traces (callers' decisions are followed), 0–100. */
  readonly samplingPercent: number;
  readonly identity: SpanIdentity;
  readonly random?: () => number;
}

const B3_HEADERS = ['b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'] as const;

export class WaypointTracer {
  private readonly random: () => number;

  constructor(private readonly opts: WaypointTracerOptions) {
    this.random = opts.random ?? Math.random;
  }

  get exporter(): OtlpHttpExporter {
    return this.opts.exporter;
  }

  /** The request's span from its headers: W3C first (Envoy's preference), then B3. */
  begin(h: HeaderMap): RequestSpan {
    const w3c = parseTraceparent(h.get('traceparent'), h.get('tracestate'));
    let incoming: IncomingContext | undefined = w3c;
    let b3 = false;
    if (!w3c) {
      incoming = parseB3Single(h.get('b3')) ?? parseB3Multi(h.get('x-b3-traceid'), h.get('x-b3-spanid'), h.get('x-b3-sampled'), h.get('x-b3-flags'));
      b3 = incoming !== undefined;
    }
    return { ctx: startSpan(incoming, this.opts.samplingPercent, this.random), b3 };
  }

  /** Rewrites the propagation headers so the upstream's parent is the waypoint's span. */
  inject(h: HeaderMap, span: RequestSpan): void {
    const ctx = span.ctx;
    h.set('traceparent', formatTraceparent(ctx));
    if (ctx.tracestate) h.set('tracestate', ctx.tracestate);
    if (!span.b3) return;
    for (const name of B3_HEADERS) h.delete(name);
    const b3 = b3Headers(ctx);
    for (const name in b3) h.set(name, b3[name] as string);
  }

  /** Exports the span when sampled; never throws, never waits. */
  end(record: AccessRecord, span: RequestSpan): void {
    if (!span.ctx.sampled) return;
    this.opts.exporter.export(spanFromRecord(record, span.ctx, this.opts.identity));
  }
}

/**
 * The waypoint's span identity as Istio's: a waypoint runs as a `router` proxy, so `node_id` is
 * `router~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local`; its canonical service is the
 * Gateway's name.
 */
export function waypointSpanIdentity(namespace: string, name: string, address: string): SpanIdentity {
  return { canonicalService: name, namespace, nodeId: `router~${address}~${name}.${namespace}~${namespace}.svc.cluster.local` };
}
