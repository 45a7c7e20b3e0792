/**
 * `GET /debug/trace` on the admin port: live requests as server-sent events, for watching what a
 * waypoint does right now without turning on access logs. Off unless the role was started with
 * `--debug-trace`. It hangs off the access-record sink (one record per request, after the
 * response), so the data path pays nothing when nobody listens: `publish` returns at once.
 *
 * Bounded, because the admin port must never become a way to slow the proxy down:
 * - at most `maxSubscribers` streams at once (more get 503);
 * - per subscriber at most `maxEventsPerSecond` (a token bucket; excess dropped, reason `rate`);
 * - a subscriber that does not read keeps at most `maxQueued` events buffered (excess dropped,
 *   reason `queue`); nothing else is buffered for it.
 * Drops are counted (`ambient_debug_trace_dropped_total{reason}`) and told to the subscriber in a
 * `dropped` event once it is readable again, so a gap in the stream is never silent.
 */
import type http from 'node:http';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AccessRecord } from '../telemetry/access-record.js';
import type { TraceFilter } from './trace-filter.js';
import { parseTraceFilter, traceMatches } from './trace-filter.js';

export interface TraceHubOptions {
  readonly maxSubscribers?: number;
  readonly maxEventsPerSecond?: number;
  readonly maxQueued?: number;
  /** Interval of keep-alive comments (also when drop notices are sent); default 10 s. */
  readonly heartbeatMs?: number;
  readonly now?: () => number;
}

export const TRACE_DEFAULTS = Object.freeze({ maxSubscribers: 4, maxEventsPerSecond: 100, maxQueued: 256, heartbeatMs: 10_000 });

interface Subscriber {
  readonly res: http.ServerResponse;
  readonly filter: TraceFilter;
  tokens: number;
  last: number;
  /** Events written while the socket was backed up (counted against maxQueued). */
  queued: number;
  dropped: { rate: number; queue: number };
  nextId: number;
}

export class TraceHub {
  private readonly subs = new Set<Subscriber>();
  private readonly max: number;
  private readonly rate: number;
  private readonly maxQueued: number;
  private readonly now: () => number;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly events = new Counter({ name: 'ambient_debug_trace_events_total', help: 'Events sent to /debug/trace subscribers.', registers: [] });
  private readonly drops = new Counter({ name: 'ambient_debug_trace_dropped_total', help: 'Events not sent to a /debug/trace subscriber, by reason (rate, queue).', labelNames: ['reason'], registers: [] });
  private readonly refused = new Counter({ name: 'ambient_debug_trace_refused_total', help: '/debug/trace subscriptions refused at the subscriber limit.', registers: [] });

  constructor(opts: TraceHubOptions = {}) {
    this.max = opts.maxSubscribers ?? TRACE_DEFAULTS.maxSubscribers;
    this.rate = opts.maxEventsPerSecond ?? TRACE_DEFAULTS.maxEventsPerSecond;
    this.maxQueued = opts.maxQueued ?? TRACE_DEFAULTS.maxQueued;
    this.now = opts.now ?? Date.now;
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? TRACE_DEFAULTS.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Adds this hub's counters and the subscriber gauge to a registry (the role's metrics). */
  registerInto(registry: Registry): void {
    for (const m of [this.events, this.drops, this.refused]) registry.registerMetric(m);
    const subs = this.subs;
    new Gauge({
      name: 'ambient_debug_trace_subscribers',
      help: 'Open /debug/trace streams.',
      registers: [registry],
      collect() {
        this.set(subs.size);
      },
    });
  }

  get subscribers(): number {
    return this.subs.size;
  }

  /** The access-record sink hook: one call per finished request. */
  readonly publish = (r: AccessRecord): void => {
    if (this.subs.size === 0 || r.kind !== 'http') return;
    let line: string | undefined;
    const t = this.now();
    for (const s of this.subs) {
      if (!traceMatches(s.filter, r)) continue;
      s.tokens = Math.min(this.rate, s.tokens + ((t - s.last) / 1000) * this.rate);
      s.last = t;
      if (s.tokens < 1) {
        s.dropped.rate++;
        this.drops.inc({ reason: 'rate' });
        continue;
      }
      const backedUp = s.res.writableNeedDrain;
      if (backedUp && s.queued >= this.maxQueued) {
        s.dropped.queue++;
        this.drops.inc({ reason: 'queue' });
        continue;
      }
      s.tokens -= 1;
      if (backedUp) s.queued++;
      line ??= JSON.stringify(traceEvent(r));
      s.res.write(`id: ${s.nextId++}\nevent: request\ndata: ${line}\n\n`);
      this.events.inc();
    }
  };

  /** Serves one `GET /debug/trace?...` request: a stream until the client leaves. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): void {
    const parsed = parseTraceFilter(query);
    if (!parsed.ok) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=UTF-8' }).end(`${parsed.message}\n`);
      return;
    }
    if (this.subs.size >= this.max) {
      this.refused.inc();
      res.writeHead(503, { 'content-type': 'text/plain; charset=UTF-8', 'retry-after': '10' }).end(`too many /debug/trace subscribers (at most ${this.max})\n`);
      return;
    }
    const s: Subscriber = { res, filter: parsed.filter, tokens: this.rate, last: this.now(), queued: 0, dropped: { rate: 0, queue: 0 }, nextId: 1 };
    this.subs.add(s);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.write(`: ambient debug trace ${JSON.stringify(parsed.filter)}\n\n`);
    res.on('drain', () => {
      s.queued = 0;
      this.notifyDrops(s);
    });
    const done = (): void => void this.subs.delete(s);
    req.once('close', done);
    res.once('close', done);
  }

  /** Ends every stream (admin server closing). */
  close(): void {
    clearInterval(this.heartbeat);
    for (const s of this.subs) s.res.end();
    this.subs.clear();
  }

  private beat(): void {
    for (const s of this.subs) {
      if (s.res.writableNeedDrain) continue;
      if (!this.notifyDrops(s)) s.res.write(': keep-alive\n\n');
    }
  }

  /** Tells a subscriber how many events it missed since the last notice; true when it wrote one. */
  private notifyDrops(s: Subscriber): boolean {
    if (s.dropped.rate === 0 && s.dropped.queue === 0) return false;
    s.res.write(`event: dropped\ndata: ${JSON.stringify(s.dropped)}\n\n`);
    s.dropped = { rate: 0, queue: 0 };
    return true;
  }
}

/** What a subscriber sees of a request: the access record's fields a person debugs with. */
function traceEvent(r: AccessRecord): Record<string, unknown> {
  return {
    time: r.startTime,
    method: r.method ?? null,
    path: r.path ?? null,
    authority: r.authority ?? null,
    status: r.responseCode ?? 0,
    flags: r.responseFlags,
    details: r.responseCodeDetails ?? null,
    durationMs: r.durationMs,
    sourcePrincipal: r.sourcePrincipal ?? null,
    source: r.downstreamRemoteAddress,
    destinationService: r.destinationService ?? null,
    upstreamHost: r.upstreamHost ?? null,
    route: r.routeName ?? null,
    requestId: r.requestId ?? null,
    bytesReceived: r.bytesReceived,
    bytesSent: r.bytesSent,
  };
}
