/**
 * Spans to an OpenTelemetry collector, batched and never blocking the data path: `export()` only
 * queues; a timer (or a full batch) sends through the transport (OTLP/HTTP or OTLP/gRPC); a full
 * queue drops the span and counts it; a slow or failing collector costs nothing but dropped spans.
 */
import type { OtlpSpan } from './otlp-span.js';

/** How a batch reaches the collector: resolves true when it was accepted; never rejects. */
export interface SpanTransport {
  /** Where spans go, for admin and logs (`http://host:port/v1/traces`, `grpc://host:port`). */
  readonly target: string;
  send(batch: readonly OtlpSpan[]): Promise<boolean>;
  close(): void;
}

/**
 * Spans sent and dropped, kept across exporters: the exporter is replaced when the tracing
 * config changes, these totals are what the proxy's metrics show (exporter health).
 */
export class SpanExportStats {
  /** Spans the collector accepted. */
  sent = 0;
  /** Spans dropped: queue full, or a batch the collector did not accept. */
  dropped = 0;
  /** Batches the collector did not accept (unreachable, timeout, error status). */
  failedBatches = 0;
}

export interface SpanBatchOptions {
  /** Also counted here (the proxy's running totals). */
  readonly stats?: SpanExportStats;
  readonly maxBatch?: number;
  readonly maxQueue?: number;
  readonly flushIntervalMs?: number;
}

export class SpanExporter {
  private queue: OtlpSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inflight = new Set<Promise<void>>();
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly flushIntervalMs: number;
  private closed = false;
  private readonly stats: SpanExportStats | undefined;
  /** Spans dropped (queue full, collector failure). */
  dropped = 0;
  /** Spans the collector accepted. */
  sent = 0;

  constructor(
    readonly transport: SpanTransport,
    opts: SpanBatchOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 512;
    this.maxQueue = opts.maxQueue ?? 2048;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.stats = opts.stats;
  }

  /** Queues one span; never blocks, never throws. */
  export(span: OtlpSpan): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.dropped++;
      if (this.stats) this.stats.dropped++;
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
      const p = this.transport.send(batch).then((ok) => {
        if (ok) this.sent += batch.length;
        else this.dropped += batch.length;
        const stats = this.stats;
        if (!stats) return;
        if (ok) stats.sent += batch.length;
        else {
          stats.dropped += batch.length;
          stats.failedBatches++;
        }
      });
      const tracked = p.finally(() => this.inflight.delete(tracked));
      this.inflight.add(tracked);
    }
  }

  /** Flushes, waits for sends up to the deadline, then stops accepting and releases the transport. */
  async close(deadlineMs: number): Promise<void> {
    this.flush();
    this.closed = true;
    await Promise.race([Promise.all([...this.inflight]), new Promise((r) => setTimeout(r, deadlineMs).unref())]);
    this.transport.close();
  }
}
