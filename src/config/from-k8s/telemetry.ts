/**
 * `telemetry.istio.io/v1 Telemetry` → {@link TelemetryIR} (istio.io reference:
 * telemetry/v1). Only `accessLogging` is translated, for waypoints:
 *
 * - Attachment: `targetRefs` to a waypoint `Gateway` in the object's namespace, or nothing (the
 *   namespace; mesh-wide in the root namespace). A `selector` is for sidecars: skipped with a
 *   warning; other target kinds are warned and ignored.
 * - `accessLogging[]`: the first entry without a `match`, or whose `match.mode` includes the server
 *   side (a waypoint reports as SERVER), is used: `disabled` and `providers[].name`. Provider names
 *   are resolved against the mesh config per view (an unknown one is ignored there).
 * - `tracing[]`: the first entry that applies to the server side, likewise: `providers[].name`
 *   (Istio uses the first), `randomSamplingPercentage`, `disableSpanReporting`, `customTags` (literal, environment,
 *   header); unset fields inherit from less specific Telemetry objects and the mesh config
 *   (`tracing-policy.ts`).
 * - `metrics[]`: the Prometheus provider's overrides (`telemetry-metrics.ts`); unlike the other
 *   fields they merge across levels, mesh → namespace → waypoint (`metrics-policy.ts`).
 */
import type { AccessLoggingIR, CustomTagIR, TelemetryIR, TelemetryTargetIR, TracingIR } from '../ir-telemetry.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { readMetricOverrides } from './telemetry-metrics.js';
import { forEachTargetRef, GATEWAY_GROUP, hasPolicyTargets } from './policy-targets.js';
import type { Translator } from './translator.js';

export const telemetryTranslator: Translator = {
  kind: 'Telemetry',
  apiVersions: ['telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1'],
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const targeted = hasPolicyTargets(r);
    if (!targeted && r.record(['spec', 'selector'])) {
      r.warn(['spec', 'selector'], 'UNSUPPORTED', 'a selector attaches to sidecars, which this data plane does not run; use targetRefs to the waypoint Gateway');
      return undefined;
    }
    const targets: TelemetryTargetIR[] = targeted ? readTargets(r, namespace) : [{ kind: 'Namespace' }];
    const accessLogging = readAccessLogging(r);
    const tracing = readTracing(r);
    const metricOverrides = readMetricOverrides(r);
    if (r.failed || (!accessLogging && !tracing && !metricOverrides)) return undefined;
    const value: TelemetryIR = {
      name: r.id.name,
      namespace,
      targets,
      ...(accessLogging ? { accessLogging } : {}),
      ...(tracing ? { tracing } : {}),
      ...(metricOverrides ? { metricOverrides } : {}),
      origin: r.origin,
    };
    return { type: 'Telemetry', value };
  },
};

function readTargets(r: ObjectReader, namespace: string): TelemetryTargetIR[] {
  const out: TelemetryTargetIR[] = [];
  forEachTargetRef(r, namespace, ({ path, group, kind, name }) => {
    if (kind === 'Gateway' && group === GATEWAY_GROUP) out.push({ kind: 'Gateway', name });
    else r.warn(path, 'UNSUPPORTED', `only waypoint Gateway (${GATEWAY_GROUP}) targets apply here; ${kind} ${name} is ignored`);
  });
  return out;
}

/**
 * The first entry of `spec.<field>` that applies to a waypoint (server side, `match.mode`), read
 * by `read`; undefined when none does. Every entry is validated, applying or not.
 */
function firstServerEntry<T>(r: ObjectReader, field: 'accessLogging' | 'tracing', read: (path: FieldPath, providers: string[]) => T): T | undefined {
  let chosen: T | undefined;
  r.list(['spec', field]).forEach((_, i) => {
    const path = ['spec', field, i];
    if (r.record(path, true) === undefined) return;
    const mode = r.string([...path, 'match', 'mode']) ?? 'CLIENT_AND_SERVER';
    if (mode !== 'CLIENT_AND_SERVER' && mode !== 'SERVER' && mode !== 'CLIENT') {
      r.error([...path, 'match', 'mode'], 'FIELD_INVALID', 'must be CLIENT_AND_SERVER, SERVER or CLIENT');
      return;
    }
    const providers: string[] = [];
    r.list([...path, 'providers']).forEach((__, j) => {
      const name = r.string([...path, 'providers', j, 'name'], { required: true });
      if (name !== undefined) providers.push(name);
    });
    const entry = read(path, providers);
    if (mode !== 'CLIENT' && chosen === undefined) chosen = entry;
  });
  return chosen;
}

function readAccessLogging(r: ObjectReader): AccessLoggingIR | undefined {
  return firstServerEntry(r, 'accessLogging', (path, providers) => {
    if (r.has([...path, 'filter'])) r.warn([...path, 'filter'], 'UNSUPPORTED', 'CEL filters are not evaluated; the entry applies to every request');
    return { disabled: r.boolean([...path, 'disabled']) ?? false, providers };
  });
}

function readTracing(r: ObjectReader): TracingIR | undefined {
  return firstServerEntry(r, 'tracing', (path, providers) => {
    const customTags = readCustomTags(r, [...path, 'customTags']);
    const sampling = r.percentage([...path, 'randomSamplingPercentage']);
    const disable = r.boolean([...path, 'disableSpanReporting']);
    return {
      providers,
      ...(sampling !== undefined ? { randomSamplingPercentage: sampling } : {}),
      ...(disable !== undefined ? { disableSpanReporting: disable } : {}),
      ...(customTags ? { customTags } : {}),
    };
  });
}

/** `customTags`: each tag is exactly one of `literal`, `environment` or `header`. */
function readCustomTags(r: ObjectReader, path: FieldPath): Record<string, CustomTagIR> | undefined {
  const tags = r.record(path);
  if (!tags) return undefined;
  const out: Record<string, CustomTagIR> = {};
  for (const name of Object.keys(tags)) {
    const at = [...path, name];
    if (r.record(at, true) === undefined) continue;
    const kinds = (['literal', 'environment', 'header'] as const).filter((k) => r.has([...at, k]));
    if (kinds.length !== 1) {
      r.error(at, 'FIELD_INVALID', 'must set exactly one of literal, environment or header');
      continue;
    }
    const kind = kinds[0] as 'literal' | 'environment' | 'header';
    if (kind === 'literal') {
      const value = r.string([...at, 'literal', 'value'], { required: true, allowEmpty: true });
      if (value !== undefined) out[name] = { kind, value };
      continue;
    }
    const source = r.string([...at, kind, 'name'], { required: true });
    const defaultValue = r.string([...at, kind, 'defaultValue']);
    if (source !== undefined) out[name] = { kind, name: kind === 'header' ? source.toLowerCase() : source, ...(defaultValue !== undefined ? { defaultValue } : {}) };
  }
  return out;
}
