/**
 * Which SPIFFE identities a caller of the local CA may have certificates for.
 *
 * Istio's CA authenticates a Kubernetes token (TokenReview) and issues only the token's own
 * service-account identity; a node agent (the shared-mode ztunnel) asks for a pod's identity with
 * the `ImpersonatedIdentity` metadata field and istiod's node authorizer allows it only when such
 * a pod runs on the agent's node. The local mesh keeps that rule, with the configured pods in
 * place of the API server and a local-mesh token (mesh-token.ts) in place of the Kubernetes one:
 * - `pod:ns/name`: the identity of that pod (its namespace and service account);
 * - `node:N`: the identity of any pod whose `spec.nodeName` is N;
 * - `waypoint:ns/name`: the identity of that waypoint Gateway.
 * The pod, node or waypoint must exist in the current config: a deleted pod's token stops working.
 * Everything else is refused (fail closed).
 */
import type { SpiffeUri } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';
import type { TokenSubject } from './mesh-token.js';

export type Entitlement = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function entitled(view: MeshView, subject: TokenSubject, identity: SpiffeUri): Entitlement {
  switch (subject.kind) {
    case 'pod': {
      const w = view.snapshot.workloads.get(`Pod/${subject.namespace}/${subject.name}`);
      if (!w) return { ok: false, reason: `pod ${subject.namespace}/${subject.name} is not in the mesh config` };
      return w.identity === identity ? { ok: true } : { ok: false, reason: `pod ${subject.namespace}/${subject.name} runs as ${w.identity}, not ${identity}` };
    }
    case 'node': {
      const pods = view.workloadsOnNode(subject.node);
      if (pods.length === 0) return { ok: false, reason: `no pods on node ${subject.node}` };
      return pods.some((w) => w.identity === identity) ? { ok: true } : { ok: false, reason: `no pod on node ${subject.node} runs as ${identity}` };
    }
    case 'waypoint': {
      const wp = view.waypoint(subject.namespace, subject.name);
      if (!wp) return { ok: false, reason: `waypoint ${subject.namespace}/${subject.name} is not in the mesh config` };
      return wp.identity === identity ? { ok: true } : { ok: false, reason: `waypoint ${subject.namespace}/${subject.name} runs as ${wp.identity}, not ${identity}` };
    }
  }
}
