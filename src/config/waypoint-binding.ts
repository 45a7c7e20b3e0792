/**
 * Which waypoint(s) a Service's traffic goes through, as istiod resolves it
 * (pilot/pkg/serviceregistry/ambient/waypoints.go):
 *
 * - the primary: `istio.io/use-waypoint` (+ `-namespace`) on the Service, else on its Namespace;
 *   `none` on the Service opts out;
 * - Istio 1.31's canary: `istio.io/use-waypoint-canary` (+ `-namespace`) and the annotation
 *   `istio.io/use-waypoint-canary-weight` (0–100, default 0). The Namespace's canary applies only
 *   to a Service that inherits its primary from the Namespace (a Service with its own primary sets
 *   its own canary). An unusable canary — missing, not for service traffic, the same as the
 *   primary, a weight that is not an integer in 0–100 — is a warning and leaves the Service on its
 *   primary alone, as istiod reports it in the `istio.io/WaypointBound` condition.
 */
import type { DiagnosticCode, Severity } from './diagnostics.js';
import type { NamespaceIR, WaypointCanaryIR, WaypointIR, WaypointRef } from './ir.js';
import { objectKey } from './ir.js';
import { ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT } from './from-k8s/mesh-annotations.js';
import type { FieldPath } from './from-k8s/object-reader.js';
import type { ObjectRef, ServiceDraft } from './from-k8s/translator.js';

export const LABEL_USE_WAYPOINT = 'istio.io/use-waypoint';
export const LABEL_USE_WAYPOINT_NAMESPACE = 'istio.io/use-waypoint-namespace';
export const LABEL_USE_WAYPOINT_CANARY = 'istio.io/use-waypoint-canary';
export const LABEL_USE_WAYPOINT_CANARY_NAMESPACE = 'istio.io/use-waypoint-canary-namespace';

export type BindingReport = (ref: ObjectRef, severity: Severity, code: DiagnosticCode, path: FieldPath, message: string) => void;

export interface WaypointBinding {
  readonly waypoint?: WaypointRef;
  readonly waypointCanary?: WaypointCanaryIR;
}

interface ServiceObject {
  readonly ref: ObjectRef;
  readonly value: ServiceDraft;
}

export function bindWaypoints(
  o: ServiceObject,
  ns: NamespaceIR | undefined,
  waypoints: ReadonlyMap<string, WaypointIR>,
  report: BindingReport,
): WaypointBinding {
  const waypoint = bindPrimary(o, ns, waypoints, report);
  if (!waypoint) return {};
  const waypointCanary = bindCanary(o, ns, waypoint, waypoints, report);
  return waypointCanary ? { waypoint, waypointCanary } : { waypoint };
}

/**
 * `istio.io/use-waypoint` on the Service, else on its Namespace (the Service label wins, `none`
 * opts out). `istio.io/use-waypoint-namespace` is read from the same object as the name; it
 * defaults to the Service's namespace. A name with no such waypoint → warning, no waypoint.
 */
function bindPrimary(o: ServiceObject, ns: NamespaceIR | undefined, waypoints: ReadonlyMap<string, WaypointIR>, report: BindingReport): WaypointRef | undefined {
  const svc = o.value;
  const fromService = ownsPrimary(svc);
  const labels = fromService ? svc.labels : ns?.labels;
  const name = labels?.[LABEL_USE_WAYPOINT];
  if (name === undefined || name === '' || name === 'none') return undefined;
  const namespace = labels?.[LABEL_USE_WAYPOINT_NAMESPACE] || svc.namespace;
  if (!waypoints.has(objectKey(namespace, name))) {
    const where = fromService ? 'label' : `label on Namespace ${svc.namespace}`;
    report(o.ref, 'warning', 'REF_NOT_FOUND', fromService ? ['metadata', 'labels', LABEL_USE_WAYPOINT] : [],
      `${LABEL_USE_WAYPOINT} ${where} names waypoint ${namespace}/${name}, which does not exist (or was rejected); the Service has no waypoint`);
    return undefined;
  }
  return { namespace, name };
}

function ownsPrimary(svc: ServiceDraft): boolean {
  const v = svc.labels[LABEL_USE_WAYPOINT];
  return v !== undefined && v !== '';
}

function bindCanary(
  o: ServiceObject,
  ns: NamespaceIR | undefined,
  primary: WaypointRef,
  waypoints: ReadonlyMap<string, WaypointIR>,
  report: BindingReport,
): WaypointCanaryIR | undefined {
  const svc = o.value;
  // istiod consults the Namespace only when the Service inherits its primary from it.
  const nsMeta = ownsPrimary(svc) ? undefined : ns;
  const fromService = svc.labels[LABEL_USE_WAYPOINT_CANARY] !== undefined || nsMeta?.labels[LABEL_USE_WAYPOINT_CANARY] === undefined;
  const labels = fromService ? svc.labels : (nsMeta?.labels ?? {});
  const name = labels[LABEL_USE_WAYPOINT_CANARY];
  if (name === undefined || name === '' || name === 'none') return undefined;
  const namespace = labels[LABEL_USE_WAYPOINT_CANARY_NAMESPACE] || svc.namespace;
  const id = `${namespace}/${name}`;
  const labelPath: FieldPath = fromService ? ['metadata', 'labels', LABEL_USE_WAYPOINT_CANARY] : [];
  const warn = (code: DiagnosticCode, path: FieldPath, why: string): undefined => {
    report(o.ref, 'warning', code, path, `canary waypoint ${id}: ${why}; all connections use the primary waypoint ${primary.namespace}/${primary.name}`);
    return undefined;
  };
  if (namespace === primary.namespace && name === primary.name) return warn('FIELD_INVALID', labelPath, 'the same as the primary (CanarySameAsPrimary)');
  const weightText = svc.annotations?.[ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT] ?? nsMeta?.annotations?.[ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT];
  const weight = weightText === undefined ? 0 : parseWeight(weightText);
  if (weight === undefined) {
    const path: FieldPath = svc.annotations?.[ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT] !== undefined ? ['metadata', 'annotations', ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT] : [];
    return warn('FIELD_INVALID', path, `${ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT} ${JSON.stringify(weightText)} is not an integer from 0 to 100 (CanaryInvalidWeight)`);
  }
  const wp = waypoints.get(objectKey(namespace, name));
  if (!wp) return warn('REF_NOT_FOUND', labelPath, 'does not exist (or was rejected)');
  if (wp.waypointFor !== 'service' && wp.waypointFor !== 'all') return warn('FIELD_INVALID', labelPath, `handles ${wp.waypointFor} traffic, not service traffic`);
  return { waypoint: { namespace, name }, weight };
}

/** Go's strconv.Atoi accepts an optional sign and decimal digits; istiod then requires 0..100. */
function parseWeight(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 100 ? n : undefined;
}
