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
import type { SpanIdentity } from './otlp-span.js';
import { spanFromRecord } from './otlp-span.js';
import type { SpanExporter } from './span-exporter.js';
import type { SpanTag } from './tracing-policy.js';
import type { IncomingContext, TraceContext } from './trace-context.js';
import { b3Headers, formatTraceparent, parseB3Multi, parseB3Single, parseTraceparent, startSpan } from './trace-context.js';

/** This request's span and how its caller propagated (B3 callers get B3 headers back upstream). */
export interface RequestSpan {
  readonly ctx: TraceContext;
  readonly b3: boolean;
}

/** Where spans go and how many new traces are sampled; replaced when the mesh config changes. */
export interface TracingTarget {
  readonly exporter: SpanExporter;
  /** Istio's `sampling`: percent of new traces (callers' decisions are followed), 0–100. */
  readonly samplingPercent: number;
  /** Telemetry `customTags`, added to every span. */
  readonly customTags?: readonly SpanTag[];
}

export interface WaypointTracerOptions {
  /** Absent: tracing off until `configure` gives a target. */
  readonly exporter?: SpanExporter;
  readonly samplingPercent?: number;
  readonly identity: SpanIdentity;
  readonly random?: () => number;
}

const B3_HEADERS = ['b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'] as const;

export class WaypointTracer {
  private readonly random: () => number;
  private target: TracingTarget | undefined;

  constructor(private readonly opts: WaypointTracerOptions) {
    this.random = opts.random ?? Math.random;
    if (opts.exporter) this.target = { exporter: opts.exporter, samplingPercent: opts.samplingPercent ?? 1 };
  }

  /** The current exporter, if tracing is on. */
  get exporter(): SpanExporter | undefined {
    return this.target?.exporter;
  }

  get samplingPercent(): number | undefined {
    return this.target?.samplingPercent;
  }

  /**
   * Switches where spans go (or turns tracing off). Requests already begun keep their span and
   * export to whatever target is current when they end; the caller closes the old exporter.
   */
  configure(target: TracingTarget | undefined): void {
    this.target = target;
  }

  /**
   * The request's span from its headers: W3C first (Envoy's preference), then B3. `undefined`
   * when tracing is off: the request's propagation headers are then left as they came.
   */
  begin(h: HeaderMap): RequestSpan | undefined {
    const target = this.target;
    if (!target) return undefined;
    const w3c = parseTraceparent(h.get('traceparent'), h.get('tracestate'));
    let incoming: IncomingContext | undefined = w3c;
    let b3 = false;
    if (!w3c) {
      incoming = parseB3Single(h.get('b3')) ?? parseB3Multi(h.get('x-b3-traceid'), h.get('x-b3-spanid'), h.get('x-b3-sampled'), h.get('x-b3-flags'));
      b3 = incoming !== undefined;
    }
    return { ctx: startSpan(incoming, target.samplingPercent, this.random), b3 };
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
    const target = this.target;
    target?.exporter.export(spanFromRecord(record, span.ctx, this.opts.identity, target.customTags));
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
