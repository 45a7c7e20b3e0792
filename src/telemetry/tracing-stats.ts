/**
 * Exporter health for tracing, on `/stats/prometheus`: spans the collector accepted, spans
 * dropped (queue full or a batch refused) and refused batches, as running totals across the
 * exporters the tracing config creates. Read at scrape time; nothing on the request path.
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import { PROXY_METRIC_PREFIX } from './metrics.js';
import type { SpanExportStats } from './span-exporter.js';

export function registerTracingStats(registry: Registry, stats: SpanExportStats): void {
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name: `${PROXY_METRIC_PREFIX}${name}`,
      help,
      registers: [registry],
      collect(this: Counter) {
        // The totals only grow; each scrape sets the counter to them.
        this.reset();
        this.inc(read());
      },
    });
  };
  counter('tracing_spans_exported_total', 'Spans the tracing collector accepted.', () => stats.sent);
  counter('tracing_spans_dropped_total', 'Spans dropped: export queue full, or a batch the collector did not accept.', () => stats.dropped);
  counter('tracing_export_failures_total', 'Span batches the collector did not accept (unreachable, timeout, error status).', () => stats.failedBatches);
}
