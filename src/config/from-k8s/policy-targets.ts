/**
 * `spec.targetRefs` (and the deprecated single `spec.targetRef`) of Istio policies attached to
 * waypoints (AuthorizationPolicy, RequestAuthentication). Istio's `PolicyTargetReference` has no
 * cross-namespace form: a `namespace`, when written, must be the policy's own.
 *
 * Accepted kinds (istio.io ambient/usage/l7-features): a `Gateway` (waypoint) or a core `Service`
 * in the policy's namespace, or the `GatewayClass` `istio-waypoint` (every waypoint; Istio allows
 * it only in the root namespace, which the snapshot builder checks). ServiceEntry targets are not
 * supported here: warned and ignored.
 */
import type { PolicyTargetIR } from '../ir-security.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** One `targetRefs` entry, read and checked (same namespace); what it may name is the caller's call. */
export interface TargetRefFields {
  readonly path: FieldPath;
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

/**
 * Walks `spec.targetRefs` and the deprecated `spec.targetRef` of any Istio object attached by
 * target: reads group/kind/name, rejects a `namespace` other than the object's own (Istio's
 * `PolicyTargetReference` has no cross-namespace form), and hands the rest to `visit`.
 */
export function forEachTargetRef(r: ObjectReader, namespace: string, visit: (ref: TargetRefFields) => void): void {
  const one = (path: FieldPath): void => {
    if (r.record(path, true) === undefined) return;
    const group = r.string([...path, 'group'], { allowEmpty: true }) ?? '';
    const kind = r.string([...path, 'kind'], { required: true });
    const name = r.string([...path, 'name'], { required: true });
    const ns = r.string([...path, 'namespace']);
    if (kind === undefined || name === undefined) return;
    if (ns !== undefined && ns !== namespace) {
      r.error([...path, 'namespace'], 'FIELD_INVALID', `must be the object's own namespace (${namespace}); cross-namespace targets are not allowed`);
      return;
    }
    visit({ path, group, kind, name });
  };
  r.list(['spec', 'targetRefs']).forEach((_, i) => one(['spec', 'targetRefs', i]));
  if (r.has(['spec', 'targetRef'])) one(['spec', 'targetRef']);
}

/**
 * The waypoint targets of `spec.targetRefs`. `extra`, when given, sees each reference first and
 * returns true for one it took (a kind only its caller accepts, e.g. HTTPRoute).
 */
export function readPolicyTargets(r: ObjectReader, policyNamespace: string, extra?: (ref: TargetRefFields) => boolean): PolicyTargetIR[] {
  const out: PolicyTargetIR[] = [];
  forEachTargetRef(r, policyNamespace, (ref) => {
    if (extra?.(ref)) return;
    const { path, group, kind, name } = ref;
    if (kind === 'Gateway' && group === GATEWAY_GROUP) out.push({ kind: 'Gateway', namespace: policyNamespace, name });
    else if (kind === 'Service' && group === '') out.push({ kind: 'Service', namespace: policyNamespace, name });
    else if (kind === 'GatewayClass' && group === GATEWAY_GROUP) out.push({ kind: 'GatewayClass', name });
    else if (kind === 'ServiceEntry' && group === 'networking.istio.io') r.warn(path, 'UNSUPPORTED', 'ServiceEntry targets are not supported; this target is ignored');
    else r.error(path, 'FIELD_INVALID', `unsupported target ${group === '' ? 'core' : group} ${kind}: use a waypoint Gateway (${GATEWAY_GROUP}), a Service (group "") or GatewayClass istio-waypoint`);
  });
  return out;
}

/** True when the object attaches by `targetRefs`/`targetRef` (waypoint) rather than by selector. */
export function hasPolicyTargets(r: ObjectReader): boolean {
  return r.list(['spec', 'targetRefs']).length > 0 || r.has(['spec', 'targetRef']);
}
