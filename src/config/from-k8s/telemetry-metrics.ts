/**
 * A Telemetry object's `spec.metrics[]` → the {@link MetricOverrideIR} list the waypoint applies
 * (istio.io reference: telemetry/v1 `Metrics`, `MetricsOverrides`, `MetricSelector`).
 *
 * - Entries for other providers than `prometheus` are skipped (the waypoint exports Prometheus
 *   only); an entry without `providers` means the mesh default, which is `prometheus`.
 * - `overrides[].match.metric` (default `ALL_METRICS`) and `match.mode` (default
 *   `CLIENT_AND_SERVER`; the waypoint reports as the server, so `CLIENT` entries do not apply);
 *   `customMetric` is refused with a warning (no custom metrics are defined).
 * - `disabled`, and `tagOverrides` with `REMOVE` or `UPSERT` (the default operation); UPSERT values
 *   are parsed here (`tag-expression.ts`), a value outside the supported subset is warned and that
 *   tag is left alone.
 * - `reportingInterval` is warned: metrics are updated per request, scrapes read them directly.
 */
import type { IstioMetricName, MetricOverrideIR, TagOverrideIR } from '../ir-telemetry.js';
import { ISTIO_METRIC_NAMES } from '../ir-telemetry.js';
import { parseTagExpression } from '../tag-expression.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

const PROMETHEUS = 'prometheus';
const MODES = new Set(['CLIENT_AND_SERVER', 'SERVER', 'CLIENT']);
const METRICS: ReadonlySet<string> = new Set<string>(ISTIO_METRIC_NAMES);
/** Prometheus label names (the tag becomes one). */
const TAG_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Undefined when the object has no `metrics`; else the overrides that apply, in order. */
export function readMetricOverrides(r: ObjectReader): MetricOverrideIR[] | undefined {
  const entries = r.list(['spec', 'metrics']);
  if (entries.length === 0) return undefined;
  const out: MetricOverrideIR[] = [];
  entries.forEach((_, i) => {
    const path: FieldPath = ['spec', 'metrics', i];
    if (r.record(path, true) === undefined) return;
    if (r.has([...path, 'reportingInterval'])) r.warn([...path, 'reportingInterval'], 'UNSUPPORTED', 'metrics are updated per request and read at scrape time; the interval does not apply');
    const providers = r.list([...path, 'providers']).map((__, j) => r.string([...path, 'providers', j, 'name'], { required: true }));
    const forPrometheus = providers.length === 0 || providers.includes(PROMETHEUS);
    r.list([...path, 'overrides']).forEach((___, j) => {
      const o = readOverride(r, [...path, 'overrides', j]);
      if (o && forPrometheus) out.push(o);
    });
  });
  return out;
}

function readOverride(r: ObjectReader, path: FieldPath): MetricOverrideIR | undefined {
  if (r.record(path, true) === undefined) return undefined;
  const mode = r.string([...path, 'match', 'mode']) ?? 'CLIENT_AND_SERVER';
  if (!MODES.has(mode)) {
    r.error([...path, 'match', 'mode'], 'FIELD_INVALID', 'must be CLIENT_AND_SERVER, SERVER or CLIENT');
    return undefined;
  }
  if (r.has([...path, 'match', 'customMetric'])) {
    r.warn([...path, 'match', 'customMetric'], 'UNSUPPORTED', 'custom metrics are not defined by this waypoint; the override is ignored');
    return undefined;
  }
  const name = r.string([...path, 'match', 'metric']) ?? 'ALL_METRICS';
  if (name !== 'ALL_METRICS' && !METRICS.has(name)) {
    r.error([...path, 'match', 'metric'], 'FIELD_INVALID', `must be ALL_METRICS or one of ${ISTIO_METRIC_NAMES.join(', ')}`);
    return undefined;
  }
  const disabled = r.boolean([...path, 'disabled']);
  const tagOverrides = readTagOverrides(r, [...path, 'tagOverrides']);
  if (mode === 'CLIENT') return undefined;
  return {
    ...(name !== 'ALL_METRICS' ? { metric: name as IstioMetricName } : {}),
    disabled: disabled ?? false,
    tagOverrides,
  };
}

function readTagOverrides(r: ObjectReader, path: FieldPath): TagOverrideIR[] {
  const out: TagOverrideIR[] = [];
  for (const tag of Object.keys(r.record(path) ?? {})) {
    const at = [...path, tag];
    if (!TAG_NAME.test(tag)) {
      r.error(at, 'FIELD_INVALID', 'a tag name must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)');
      continue;
    }
    if (r.record(at, true) === undefined) continue;
    const operation = r.string([...at, 'operation']) ?? 'UPSERT';
    if (operation === 'REMOVE') {
      out.push({ tag, operation });
      continue;
    }
    if (operation !== 'UPSERT') {
      r.error([...at, 'operation'], 'FIELD_INVALID', 'must be UPSERT or REMOVE');
      continue;
    }
    const text = r.string([...at, 'value'], { required: true });
    if (text === undefined) continue;
    const parsed = parseTagExpression(text);
    if (!parsed.ok) {
      r.warn([...at, 'value'], 'UNSUPPORTED', `this expression is not evaluated here (${parsed.reason}); the tag is left as it is`);
      continue;
    }
    out.push({ tag, operation, value: parsed.value });
  }
  return out;
}
