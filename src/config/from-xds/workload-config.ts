/**
 * Istio WDS resources (Workloads, Services, Authorizations) → IR objects, joined the way ztunnel
 * joins them:
 * - a Workload → a Pod draft (ambient when its tunnel protocol is HBONE, expressed as the
 *   `istio.io/dataplane-mode` label the snapshot builder reads), labelled for each
 *   `WORKLOAD_SELECTOR` Authorization it lists;
 * - a Service → a Service draft whose endpoints are the healthy Workloads that list it in their
 *   `services` map (per service port), bound to its waypoint by the `istio.io/use-waypoint`
 *   labels (hostname form; address form when a Workload owns that address);
 * - an Authorization → an L4 policy.
 */
import { LABEL_DATAPLANE_MODE, LABEL_USE_WAYPOINT, LABEL_USE_WAYPOINT_NAMESPACE } from '../snapshot-builder.js';
import { LABEL_USE_WAYPOINT_CANARY, LABEL_USE_WAYPOINT_CANARY_NAMESPACE } from '../waypoint-binding.js';
import { ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT } from '../from-k8s/mesh-annotations.js';
import type { StaticEndpointIR } from '../ir.js';
import type { ObjectRef, PolicyDraft, TranslatedObject, TranslatedValue } from '../from-k8s/translator.js';
import { objectRefKey } from '../from-k8s/translator.js';
import type { WdsServiceDraft, WdsWaypointDraft, WdsWorkloadDraft } from './wds-address.js';
import { policyLabel } from './wds-authorization.js';

export interface WdsState {
  readonly workloads: ReadonlyMap<string, WdsWorkloadDraft>;
  readonly services: ReadonlyMap<string, WdsServiceDraft>;
  readonly authorizations: ReadonlyMap<string, PolicyDraft>;
}

export function assembleWorkloadConfig(state: WdsState, source: string): TranslatedObject[] {
  const out: TranslatedObject[] = [];
  const emit = (kind: string, namespace: string, name: string, value: TranslatedValue): void => {
    const ref: ObjectRef = { key: objectRefKey(kind, namespace, name), kind, namespace, name, origin: { source: `${source}#${kind}/${namespace}/${name}`, line: 0 }, lineOf: () => undefined };
    out.push({ ...value, ref });
  };
  const byIp = new Map<string, WdsWorkloadDraft>();
  for (const w of state.workloads.values()) for (const ip of w.addresses) byIp.set(ip, w);

  for (const w of state.workloads.values()) {
    if (!reachable(w)) continue;
    const labels: Record<string, string> = { [LABEL_DATAPLANE_MODE]: w.hbone ? 'ambient' : 'none' };
    for (const p of w.authorizationPolicies) labels[policyLabel(p)] = 'true';
    emit('WdsWorkload', w.namespace, w.uid, {
      type: 'Pod',
      value: {
        uid: w.uid,
        name: w.name,
        namespace: w.namespace,
        serviceAccount: w.serviceAccount,
        ip: w.ip,
        node: w.node,
        labels,
        containerPorts: [],
        canonicalName: w.canonicalName,
        canonicalRevision: w.canonicalRevision,
        workloadName: w.workloadName,
        origin: { source: `${source}#Workload/${w.uid}` },
      },
    });
  }

  for (const s of state.services.values()) {
    const key = `${s.namespace}/${s.hostname}`;
    const endpoints: StaticEndpointIR[] = [];
    for (const w of state.workloads.values()) {
      const ports = w.services.get(key);
      if (!ports || !w.healthy || !reachable(w)) continue;
      for (const p of s.ports) {
        const target = ports.get(p.port);
        if (target === undefined) continue;
        endpoints.push({ ip: w.ip, port: target.targetPort || p.targetPort, servicePort: p.port });
      }
    }
    const wp = s.waypoint ? waypointRef(s.waypoint, byIp) : undefined;
    const canary = wp ? canaryOf(s.weightedWaypoints, wp, byIp) : undefined;
    emit('WdsService', s.namespace, s.name, {
      type: 'Service',
      value: {
        name: s.name,
        namespace: s.namespace,
        vips: s.vips,
        ports: s.ports.map((p) => ({ port: p.port, targetPort: p.targetPort, appProtocol: p.appProtocol })),
        labels: wp
          ? {
              [LABEL_USE_WAYPOINT]: wp.name,
              [LABEL_USE_WAYPOINT_NAMESPACE]: wp.namespace,
              ...(canary ? { [LABEL_USE_WAYPOINT_CANARY]: canary.name, [LABEL_USE_WAYPOINT_CANARY_NAMESPACE]: canary.namespace } : {}),
            }
          : {},
        ...(canary ? { annotations: { [ANNOTATION_USE_WAYPOINT_CANARY_WEIGHT]: String(canary.weight) } } : {}),
        staticEndpoints: endpoints,
        origin: { source: `${source}#Service/${key}` },
      },
    });
  }

  for (const p of state.authorizations.values()) emit('WdsAuthorization', p.namespace, p.name, { type: 'L4Policy', value: p });
  return out;
}

/**
 * Workloads this data plane can carry traffic to: one with an address of its own, spoken to over
 * HBONE or plaintext. A workload behind a network gateway only (no address), or one that expects
 * Istio's sidecar mTLS (`LEGACY_ISTIO_MTLS`, which ztunnel rejects too), is kept in the WDS state
 * but is neither a pod nor an endpoint here: plaintext to it would be a silent downgrade.
 */
function reachable(w: WdsWorkloadDraft): w is WdsWorkloadDraft & { readonly ip: string } {
  return w.ip !== undefined && w.tunnelProtocol !== 'LEGACY_ISTIO_MTLS';
}

/** `waypoint.default.svc.cluster.local` → default/waypoint; an address → the Workload owning it. */
function waypointRef(wp: WdsWaypointDraft, byIp: ReadonlyMap<string, WdsWorkloadDraft>): { namespace: string; name: string } | undefined {
  if (wp.hostname) return { namespace: wp.hostname.namespace, name: wp.hostname.hostname.split('.')[0] ?? '' };
  const owner = wp.address !== undefined ? byIp.get(wp.address) : undefined;
  // Istio runs a waypoint under a ServiceAccount named after its Gateway.
  return owner ? { namespace: owner.namespace, name: owner.serviceAccount } : undefined;
}

/**
 * istiod's weighted set for a canary is `[{primary, 100 - w}, {canary, w}]` (ambient/waypoints.go
 * `buildWeightedWaypoints`); it becomes the same canary labels and weight a Service would carry,
 * so the snapshot builder applies one set of rules to both sources. Weights that do not add up to
 * 100 are scaled to a percentage. A set of another size, or whose first entry is not the primary,
 * is not one istiod makes: the primary alone is used (as ztunnel falls back to `waypoint`).
 */
function canaryOf(
  set: WdsServiceDraft['weightedWaypoints'],
  primary: { readonly namespace: string; readonly name: string },
  byIp: Parameters<typeof waypointRef>[1],
): { readonly namespace: string; readonly name: string; readonly weight: number } | undefined {
  const [first, second] = set;
  if (set.length !== 2 || !first || !second) return undefined;
  const a = waypointRef(first.destination, byIp);
  const b = waypointRef(second.destination, byIp);
  if (!a || !b || a.namespace !== primary.namespace || a.name !== primary.name) return undefined;
  const total = first.weight + second.weight;
  if (total <= 0) return undefined;
  return { namespace: b.namespace, name: b.name, weight: Math.round((100 * second.weight) / total) };
}
