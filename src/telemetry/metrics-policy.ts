/**
 * The Telemetry API's `metrics` applied to a running waypoint. Unlike access logging and tracing
 * (the most specific object wins), metric overrides merge down the hierarchy, as istiod merges
 * them: mesh (root namespace) → the waypoint's namespace → `targetRefs` to its Gateway; within a
 * level, `ALL_METRICS` overrides apply before those naming the metric. For each metric, a
 * matching override replaces `disabled` and upserts or removes its tags over what came before.
 * Resolved once per view change; the result is a plan per metric that `metrics.ts` follows.
 */
import type { Snapshot, WaypointRef } from '../config/ir.js';
import type { IstioMetricName, MetricOverrideIR, TagValueIR } from '../config/ir-telemetry.js';
import { ISTIO_METRIC_NAMES } from '../config/ir-telemetry.js';
import type { ViewSource } from '../state/view-source.js';
import { telemetryLevels } from './access-log-policy.js';

/** What to do with one metric: skip it, or which tags to drop and which to set. */
export interface MetricPlan {
  readonly disabled: boolean;
  readonly removes: readonly string[];
  readonly upserts: readonly { readonly tag: string; readonly value: TagValueIR }[];
}

/** A plan for every Istio metric, or undefined when no Telemetry object says anything about them. */
export type MetricsPolicy = ReadonlyMap<IstioMetricName, MetricPlan> | undefined;

type TagOp = { readonly remove: true } | { readonly remove: false; readonly value: TagValueIR };

/** The plans the Telemetry objects ask of this waypoint. */
export function metricsPolicyFor(snapshot: Snapshot, waypoint: WaypointRef): MetricsPolicy {
  // Most specific level first from telemetryLevels; one object per level (Istio allows one).
  const chosen = telemetryLevels(snapshot, waypoint)
    .map((level) => level.find((t) => t.metricOverrides !== undefined)?.metricOverrides)
    .filter((o): o is readonly MetricOverrideIR[] => o !== undefined)
    .reverse();
  if (chosen.length === 0) return undefined;
  const plans = new Map<IstioMetricName, MetricPlan>();
  for (const metric of ISTIO_METRIC_NAMES) {
    let disabled = false;
    const tags = new Map<string, TagOp>();
    for (const overrides of chosen) {
      const applicable = [...overrides.filter((o) => o.metric === undefined), ...overrides.filter((o) => o.metric === metric)];
      for (const o of applicable) {
        disabled = o.disabled;
        for (const t of o.tagOverrides) tags.set(t.tag, t.operation === 'REMOVE' ? { remove: true } : { remove: false, value: t.value });
      }
    }
    const removes: string[] = [];
    const upserts: { tag: string; value: TagValueIR }[] = [];
    for (const [tag, op] of tags) {
      if (op.remove) removes.push(tag);
      else upserts.push({ tag, value: op.value });
    }
    plans.set(metric, { disabled, removes, upserts });
  }
  return plans;
}

export interface MetricsPolicyTarget {
  setMetricsPolicy(policy: MetricsPolicy): void;
}

/** Keeps `target` following the view's Telemetry metrics for this waypoint. Returns the unsubscribe function. */
export function followMetricsPolicy(view: ViewSource, waypoint: WaypointRef, target: MetricsPolicyTarget): () => void {
  const apply = (snapshot: Snapshot): void => target.setMetricsPolicy(metricsPolicyFor(snapshot, waypoint));
  apply(view.current().snapshot);
  return view.onChange((v) => apply(v.snapshot));
}
