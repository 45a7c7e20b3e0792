/**
 * The series of one Istio metric while Telemetry overrides are in force: the standard label set
 * of a record, with the plan's tags removed and upserted, keyed and counted on its own (an
 * override changes the label set, so the metric can no longer share the series of the others).
 *
 * When a plan only removes tags, the result depends on the standard labels alone and is cached
 * by their key: a request costs one map lookup, as without overrides. Upserts read the record,
 * so their label set is resolved per request.
 */
import type { AccessRecord } from './access-record.js';
import type { SeriesKey } from './istio-series.js';
import { HistogramData, seriesKeyOf, SeriesSet } from './istio-series.js';
import type { MetricPlan } from './metrics-policy.js';
import { tagValue, UNKNOWN_TAG_VALUE } from './tag-value.js';

type Labels = Readonly<Record<string, string>>;

/** One label set's value: a count, or a histogram. */
export class MetricSlot {
  n = 0;
  constructor(readonly h: HistogramData | undefined) {}
}

/**
 * Label sets one overridden metric may hold. Upserted values can come from requests (a header),
 * so this bounds what a client can make the proxy remember; beyond it new sets are dropped and
 * counted (`ambient_metric_series_overflow_total`).
 */
export const MAX_OVERRIDDEN_SERIES = 10_000;

export class OverriddenSeries {
  readonly set: SeriesSet<Labels, MetricSlot>;
  private plan: MetricPlan | undefined;
  private readonly byBaseKey = new Map<string, SeriesKey<Labels>>();

  constructor(bounds: readonly number[] | undefined) {
    this.set = new SeriesSet<Labels, MetricSlot>(() => new MetricSlot(bounds ? new HistogramData(bounds) : undefined));
  }

  setPlan(plan: MetricPlan): void {
    this.plan = plan;
    this.byBaseKey.clear();
  }

  get disabled(): boolean {
    return this.plan?.disabled ?? false;
  }

  /** The slot to update for this record; undefined when the metric is disabled or full. */
  slot(base: SeriesKey<Labels>, record: AccessRecord | undefined): MetricSlot | undefined {
    const plan = this.plan;
    if (!plan || plan.disabled) return undefined;
    let key = plan.upserts.length === 0 ? this.byBaseKey.get(base.key) : undefined;
    if (!key) {
      key = seriesKeyOf(relabel(base.labels, plan, record));
      if (plan.upserts.length === 0 && this.byBaseKey.size < MAX_OVERRIDDEN_SERIES) this.byBaseKey.set(base.key, key);
    }
    if (this.set.byKey.size >= MAX_OVERRIDDEN_SERIES && !this.set.byKey.has(key.key)) return undefined;
    return this.set.get(key);
  }
}

function relabel(labels: Labels, plan: MetricPlan, record: AccessRecord | undefined): Labels {
  const out: Record<string, string> = { ...labels };
  for (const tag of plan.removes) delete out[tag];
  for (const u of plan.upserts) out[u.tag] = record ? tagValue(u.value, record) : UNKNOWN_TAG_VALUE;
  return out;
}
