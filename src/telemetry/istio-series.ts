/**
 * Accumulators for the Istio metrics, exposed to prom-client as ordinary metric families.
 *
 * Why not prom-client's Counter/Histogram: each of their updates hashes the whole label object
 * (25 labels for a request metric) and validates it, about 6 µs per update and four updates per
 * request. Here a label set is resolved once (see `istio-labels.ts`, which hands out one
 * {@link SeriesKey} per distinct label set and snapshot) and a request costs one map lookup by a
 * reused string plus a few number increments. prom-client still renders the exposition: these
 * families implement the `get()`/`reset()` shape its Registry reads.
 */
import type { Registry } from 'prom-client';

/** A label set and the stable string identifying its values (computed once per label set). */
export interface SeriesKey<L extends Readonly<Record<string, string>>> {
  readonly labels: L;
  readonly key: string;
}

/** The value string of a label set: equal label values give equal keys. */
export function seriesKeyOf<L extends Readonly<Record<string, string>>>(labels: L): SeriesKey<L> {
  let key = '';
  for (const k in labels) key += `${labels[k]}\u0000`;
  return { labels, key };
}

export class HistogramData {
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += v;
    this.count++;
  }
}

/** Series of one label set, across the metrics that share it. */
export class SeriesSet<L extends Readonly<Record<string, string>>, S> {
  readonly byKey = new Map<string, { readonly labels: L; readonly data: S }>();

  constructor(private readonly create: () => S) {}

  get(k: SeriesKey<L>): S {
    let e = this.byKey.get(k.key);
    if (!e) {
      e = { labels: k.labels, data: this.create() };
      this.byKey.set(k.key, e);
    }
    return e.data;
  }

  clear(): void {
    this.byKey.clear();
  }
}

type Labels = Readonly<Record<string, string>>;

interface FamilyValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

/** The object shape prom-client's Registry reads from a registered metric. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: FamilyValue[] }>;
  reset(): void;
}

/** Walks a family's series: calls `visit` once per label set with its value. */
export type SeriesWalk<V> = (visit: (labels: Labels, value: V) => void) => void;

/** A walk over one field of a {@link SeriesSet}. */
export function walkSet<L extends Labels, S, V>(set: SeriesSet<L, S>, read: (s: S) => V): SeriesWalk<V> {
  return (visit) => {
    for (const { labels, data } of set.byKey.values()) visit(labels, read(data));
  };
}

export function registerCounterFamily(registry: Registry, name: string, help: string, walk: SeriesWalk<number>, reset: () => void): void {
  const family: Family = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    get: () => {
      const values: FamilyValue[] = [];
      walk((labels, value) => values.push({ value, labels }));
      return Promise.resolve({ name, help, type: 'counter', aggregator: 'sum', values });
    },
    reset,
  };
  registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
}

export function registerHistogramFamily(registry: Registry, name: string, help: string, bounds: readonly number[], walk: SeriesWalk<HistogramData>, reset: () => void): void {
  const les = [...bounds.map(String), '+Inf'];
  const family: Family = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const values: FamilyValue[] = [];
      walk((labels, h) => {
        let cumulative = 0;
        for (let i = 0; i < les.length; i++) {
          cumulative += h.counts[i] ?? 0;
          values.push({ value: cumulative, labels: { ...labels, le: les[i] as string }, metricName: `${name}_bucket` });
        }
        values.push({ value: h.sum, labels, metricName: `${name}_sum` });
        values.push({ value: h.count, labels, metricName: `${name}_count` });
      });
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
    reset,
  };
  registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
}
