/**
 * `/config_dump`: the effective config, as Envoy's dump is a list of typed sections under
 * `configs`. Here: the snapshot being served (every IR object with the file and line it came
 * from, so each maps back to its source object), its generation, and the diagnostics of the latest
 * rebuild (rejected objects and kept previous versions). `?resource=<section>` narrows to one
 * section (`workloads`, `services`, `waypoints`, `l4Policies`...), like Envoy's `?resource=`.
 *
 * The IR is plain data; maps become objects (or arrays for non-string keys), sets arrays, and
 * pre-parsed byte arrays (CIDR networks) are dropped since their text form is kept beside them.
 */
import type { Diagnostic } from '../config/diagnostics.js';
import type { ViewSource } from '../state/view-source.js';

export interface DumpSource extends ViewSource {
  diagnostics(): readonly Diagnostic[];
}

export const SNAPSHOT_DUMP_TYPE = 'type.googleapis.com/ambient.admin.v1.SnapshotConfigDump';
export const DIAGNOSTICS_DUMP_TYPE = 'type.googleapis.com/ambient.admin.v1.DiagnosticsDump';

/**
 * Turns IR values into JSON-ready values (see the file comment). Compiled helpers that are not
 * plain data (a regex engine's program, a class instance) print as their pattern when they have
 * one, else as `[ClassName]`; a cycle prints as `[cycle]` rather than looping.
 */
export function jsonValue(v: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint') return String(v);
    return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
  }
  if (v instanceof Uint8Array) return undefined;
  if (seen.has(v)) return '[cycle]';
  seen.add(v);
  try {
    if (v instanceof Map) {
      const entries = [...(v as Map<unknown, unknown>)];
      if (entries.every(([k]) => typeof k === 'string')) {
        const o: Record<string, unknown> = {};
        for (const [k, x] of entries) o[k as string] = jsonValue(x, seen);
        return o;
      }
      return entries.map(([k, x]) => ({ key: jsonValue(k, seen), value: jsonValue(x, seen) }));
    }
    if (v instanceof Set) return [...(v as Set<unknown>)].map((x) => jsonValue(x, seen));
    if (Array.isArray(v)) return v.map((x) => jsonValue(x, seen));
    if (v instanceof RegExp) return v.source;
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const pattern = (v as { source?: unknown; pattern?: unknown }).source ?? (v as { pattern?: unknown }).pattern;
      if (typeof pattern === 'string') return pattern;
      const ctor = (v as { constructor?: { name?: unknown } }).constructor?.name;
      return `[${typeof ctor === 'string' ? ctor : 'object'}]`;
    }
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const j = jsonValue(x, seen);
      if (j !== undefined) o[k] = j;
    }
    return o;
  } finally {
    // Shared (not cyclic) references print in full wherever they appear.
    seen.delete(v);
  }
}

export function configDump(source: DumpSource, resource?: string): unknown {
  const snapshot = source.current().snapshot;
  const sections = jsonValue(snapshot) as Record<string, unknown>;
  const diagnostics = source.diagnostics();
  if (resource) {
    return { configs: resource in sections ? [{ '@type': SNAPSHOT_DUMP_TYPE, generation: snapshot.generation, [resource]: sections[resource] }] : [] };
  }
  return {
    configs: [
      { '@type': SNAPSHOT_DUMP_TYPE, ...sections },
      {
        '@type': DIAGNOSTICS_DUMP_TYPE,
        generation: snapshot.generation,
        errors: diagnostics.filter((d) => d.severity === 'error').length,
        diagnostics,
      },
    ],
  };
}
