/**
 * Periodic byte reports of open TCP connections, so `istio_tcp_sent_bytes_total` and
 * `istio_tcp_received_bytes_total` move while a long connection (a database session, a
 * WebSocket, a stream) is open instead of jumping when it ends — what Istio's stats filter does
 * every `tcpReportingDuration` (15 s by default) and ztunnel does since its periodic reporting.
 *
 * Each tracked connection keeps the series it was opened under and what has been reported; a
 * flush adds only the growth since the last one. When the connection ends its sink reports the
 * rest ({@link LiveTcpBytes.finish}), so the totals equal the access record's byte counts.
 * Direction as Istio counts it: "sent" is towards the client (`bToA` of the splice), "received"
 * is from it (`aToB`).
 */
import type { ByteTally } from '../net/splice.js';
import type { AccessRecord } from './access-record.js';
import type { IstioTcpLabels } from './istio-labels.js';
import type { SeriesKey } from './istio-series.js';
import type { ProxyMetrics } from './metrics.js';

/** Istio's default `tcpReportingDuration`. */
export const TCP_REPORTING_INTERVAL_MS = 15_000;

interface Tracked {
  readonly key: SeriesKey<IstioTcpLabels>;
  readonly record: AccessRecord | undefined;
  sent: number;
  received: number;
}

const NOTHING_REPORTED: { readonly sent: number; readonly received: number } = Object.freeze({ sent: 0, received: 0 });

export class LiveTcpBytes {
  private readonly open = new Map<ByteTally, Tracked>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly metrics: ProxyMetrics,
    private readonly intervalMs = TCP_REPORTING_INTERVAL_MS,
  ) {}

  /** A connection started carrying bytes under series `key`. */
  track(tally: ByteTally, key: SeriesKey<IstioTcpLabels>, record?: AccessRecord): void {
    this.open.set(tally, { key, record, sent: 0, received: 0 });
    if (!this.timer) {
      this.timer = setInterval(() => this.flush(), this.intervalMs);
      // Reporting never keeps a draining process alive.
      this.timer.unref();
    }
  }

  /** The connection ended: stops tracking it and returns what was already reported. */
  finish(tally: ByteTally | undefined): { readonly sent: number; readonly received: number } {
    const t = tally && this.open.get(tally);
    if (!t || !tally) return NOTHING_REPORTED;
    this.open.delete(tally);
    if (this.open.size === 0) this.stop();
    return t;
  }

  /** Reports every open connection's growth since the last flush. */
  flush(): void {
    for (const [tally, t] of this.open) {
      const sent = tally.bToA - t.sent;
      const received = tally.aToB - t.received;
      if (sent === 0 && received === 0) continue;
      t.sent = tally.bToA;
      t.received = tally.aToB;
      try {
        this.metrics.observeTcpBytes(t.key, sent, received, t.record);
      } catch {
        this.metrics.telemetryErrors.inc();
      }
    }
  }

  /** Open connections tracked (tests). */
  get size(): number {
    return this.open.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
