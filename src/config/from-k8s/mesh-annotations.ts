/**
 * The annotations of a Service or Namespace that the mesh reads. Only these are kept in the IR:
 * snapshots are fingerprinted and frozen, and arbitrary annotations (last-applied-configuration,
 * tooling notes) would make them larger and change them for no reason.
 */

/** Istio 1.31: the canary waypoint's share, 0–100, of a Service's new connections. */
export const ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT = 'istio.io/use-waypoint-canary-weight';

const READ = [ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT] as const;

/** The mesh's annotations out of `all`, or undefined when it has none of them. */
export function meshAnnotations(all: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  let out: Record<string, string> | undefined;
  for (const key of READ) {
    const v = all[key];
    if (v !== undefined) (out ??= {})[key] = v;
  }
  return out;
}
