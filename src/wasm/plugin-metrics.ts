/**
 * Metrics plugins define (`proxy_define_metric`), kept per proxy and exposed on its Prometheus
 * endpoint. Ids are stable per (type, name), so a rebuilt VM or a second plugin defining the same
 * name share the series; the type lives in the low two bits of the id, as in Envoy.
 *
 * Exposition names follow Envoy's Prometheus rendering: names in the `wasmcustom` namespace keep
 * it as their prefix (`wasmcustom.foo` → `wasmcustom_foo`, Istio's convention for plugin metrics),
 * any other name gets Envoy's `envoy_` prefix; characters Prometheus does not allow become `_`.
 * The admin `/stats` listing shows them under the name the plugin defined (Envoy's stat name,
 * e.g. `wasmcustom.count_total: 3`), histograms as `_count` and `_sum`.
 */
import type { Registry } from 'prom-client';
import { MetricType, Status } from './abi.js';

interface Metric {
  readonly name: string;
  readonly type: number;
  value: bigint;
  /** Histogram: recorded values summarized (count, sum). */
  count: number;
  sum: number;
}

const HISTOGRAM_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

export function prometheusName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return name.startsWith('wasmcustom.') || name.startsWith('istio') ? clean : `envoy_${clean}`;
}

export class PluginMetrics {
  private readonly byId = new Map<number, Metric & { buckets: number[] }>();
  private readonly ids = new Map<string, number>();
  private next = 1;

  define(type: number, name: string): number | undefined {
    if (type !== MetricType.COUNTER && type !== MetricType.GAUGE && type !== MetricType.HISTOGRAM) return undefined;
    const key = `${type}|${name}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = (this.next++ << 2) | type;
      this.ids.set(key, id);
      this.byId.set(id, { name, type, value: 0n, count: 0, sum: 0, buckets: new Array<number>(HISTOGRAM_BUCKETS.length + 1).fill(0) });
    }
    return id;
  }

  increment(id: number, delta: bigint): number {
    const m = this.byId.get(id);
    if (!m) return Status.NOT_FOUND;
    if (m.type === MetricType.HISTOGRAM) return Status.BAD_ARGUMENT;
    if (m.type === MetricType.COUNTER && delta <= 0n) return Status.BAD_ARGUMENT;
    m.value += delta;
    return Status.OK;
  }

  record(id: number, value: bigint): number {
    const m = this.byId.get(id);
    if (!m) return Status.NOT_FOUND;
    if (m.type === MetricType.GAUGE) m.value = value;
    else if (m.type === MetricType.COUNTER) {
      // Envoy adds to a counter on record (it has no "set" for counters).
      if (value < 0n) return Status.BAD_ARGUMENT;
      m.value += value;
    } else {
      const v = Number(value);
      m.count++;
      m.sum += v;
      let i = 0;
      while (i < HISTOGRAM_BUCKETS.length && v > (HISTOGRAM_BUCKETS[i] as number)) i++;
      m.buckets[i] = (m.buckets[i] ?? 0) + 1;
    }
    return Status.OK;
  }

  get(id: number): bigint | number {
    const m = this.byId.get(id);
    if (!m) return Status.NOT_FOUND;
    if (m.type === MetricType.HISTOGRAM) return Status.BAD_ARGUMENT;
    return m.value;
  }

  /** The Prometheus text of every plugin metric. */
  exposition(): string {
    let out = '';
    for (const m of this.byId.values()) {
      const n = prometheusName(m.name);
      if (m.type === MetricType.HISTOGRAM) {
        out += `# HELP ${n} Wasm plugin histogram ${m.name}.\n# TYPE ${n} histogram\n`;
        let cum = 0;
        HISTOGRAM_BUCKETS.forEach((b, i) => {
          cum += m.buckets[i] ?? 0;
          out += `${n}_bucket{le="${b}"} ${cum}\n`;
        });
        out += `${n}_bucket{le="+Inf"} ${m.count}\n${n}_sum ${m.sum}\n${n}_count ${m.count}\n`;
      } else {
        const type = m.type === MetricType.COUNTER ? 'counter' : 'gauge';
        out += `# HELP ${n} Wasm plugin ${type} ${m.name}.\n# TYPE ${n} ${type}\n${n} ${m.value.toString()}\n`;
      }
    }
    return out;
  }

  /** Envoy's `/stats` entries (prom-client's JSON shape: name, values with an optional metricName). */
  statsEntries(): PluginStatsEntry[] {
    const out: PluginStatsEntry[] = [];
    for (const m of this.byId.values()) {
      if (m.type === MetricType.HISTOGRAM) {
        out.push({
          name: m.name,
          help: `Wasm plugin histogram ${m.name}.`,
          type: 'histogram',
          aggregator: 'sum',
          values: [
            { value: m.count, labels: {}, metricName: `${m.name}_count` },
            { value: m.sum, labels: {}, metricName: `${m.name}_sum` },
          ],
        });
      } else {
        const type = m.type === MetricType.COUNTER ? 'counter' : 'gauge';
        out.push({ name: m.name, help: `Wasm plugin ${type} ${m.name}.`, type, aggregator: 'sum', values: [{ value: Number(m.value), labels: {} }] });
      }
    }
    return out;
  }

  /**
   * Adds the plugin metrics to a proxy's prom-client registry. Plugins define metrics at run time
   * and prom-client has no notion of families that appear later, so the registry's `metrics()`
   * (the Prometheus text of `/stats/prometheus`) and `getMetricsAsJSON()` (the admin `/stats`
   * listing) are wrapped once to append them (the registry stays the single source of both).
   */
  registerInto(registry: Registry): void {
    const original = registry.metrics.bind(registry);
    registry.metrics = async (): Promise<string> => {
      const base = await original();
      const extra = this.exposition();
      if (extra === '') return base;
      return base === '' || base.endsWith('\n') ? `${base}${extra}` : `${base}\n${extra}`;
    };
    const originalJson = registry.getMetricsAsJSON.bind(registry);
    registry.getMetricsAsJSON = async () => {
      const base = await originalJson();
      // prom-client's declared element type has a `collect` function and an enum `type` that its
      // JSON never carries (at run time it is exactly the shape built here), hence the cast.
      return base.concat(this.statsEntries() as unknown as typeof base);
    };
  }
}

/** One plugin metric as prom-client's `getMetricsAsJSON` lists a metric. */
export interface PluginStatsEntry {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly { readonly value: number; readonly labels: Readonly<Record<string, string>>; readonly metricName?: string }[];
}
