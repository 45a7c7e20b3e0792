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
 * - `metrics` and `tracing` are not translated yet: warned.
 */
import type { AccessLoggingIR, TelemetryIR, TelemetryTargetIR } from '../ir-telemetry.js';
import type { ObjectReader } from './object-reader.js';
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
    for (const field of ['metrics', 'tracing'] as const) {
      if (r.list(['spec', field]).length > 0) r.warn(['spec', field], 'UNSUPPORTED', `Telemetry ${field} is not translated yet; only accessLogging applies`);
    }
    const targets: TelemetryTargetIR[] = targeted ? readTargets(r, namespace) : [{ kind: 'Namespace' }];
    const accessLogging = readAccessLogging(r);
    if (r.failed || !accessLogging) return undefined;
    const value: TelemetryIR = { name: r.id.name, namespace, targets, accessLogging, origin: r.origin };
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

/** The first entry that applies to a waypoint (server side); undefined when none does. */
function readAccessLogging(r: ObjectReader): AccessLoggingIR | undefined {
  const entries = r.list(['spec', 'accessLogging']);
  let chosen: AccessLoggingIR | undefined;
  entries.forEach((_, i) => {
    const path = ['spec', 'accessLogging', i];
    if (r.record(path, true) === undefined) return;
    const mode = r.string([...path, 'match', 'mode']) ?? 'CLIENT_AND_SERVER';
    if (mode !== 'CLIENT_AND_SERVER' && mode !== 'SERVER' && mode !== 'CLIENT') {
      r.error([...path, 'match', 'mode'], 'FIELD_INVALID', 'must be CLIENT_AND_SERVER, SERVER or CLIENT');
      return;
    }
    if (r.has([...path, 'filter'])) r.warn([...path, 'filter'], 'UNSUPPORTED', 'CEL filters are not evaluated; the entry applies to every request');
    const disabled = r.boolean([...path, 'disabled']) ?? false;
    const providers: string[] = [];
    r.list([...path, 'providers']).forEach((__, j) => {
      const name = r.string([...path, 'providers', j, 'name'], { required: true });
      if (name !== undefined) providers.push(name);
    });
    if (mode !== 'CLIENT' && !chosen) chosen = { disabled, providers };
  });
  return chosen;
}
