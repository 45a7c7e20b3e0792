/**
 * The effective PeerAuthentication mode of one workload port, composed as istiod does
 * (pilot/pkg/security/authn `ComposePeerAuthentication`): start from `PERMISSIVE`; the oldest
 * mesh-wide policy (root namespace, no selector) sets it unless `UNSET`; the oldest namespace-wide
 * policy overrides unless `UNSET`; the oldest selector policy matching the workload overrides unless
 * `UNSET`, and its `portLevelMtls` entry for the port wins (a port-level `UNSET` keeps the mode
 * computed so far). The list is pre-sorted oldest first (`src/config/peer-authn-scope.ts`), so each
 * level takes its first match.
 */
import type { WorkloadIR } from '../config/ir.js';
import type { MtlsModeIR, PeerAuthnIR } from '../config/ir-security.js';
import { labelsMatch } from '../state/mesh-view.js';

/** What plaintext inbound needs to know: `STRICT` rejects it; the others let it through. */
export type EffectiveMtlsMode = Exclude<MtlsModeIR, 'UNSET'>;

export interface MtlsDecision {
  readonly mode: EffectiveMtlsMode;
  /** `namespace/name` of the policy that decided, when one did. */
  readonly policy?: string;
}

const DEFAULT_PERMISSIVE: MtlsDecision = Object.freeze({ mode: 'PERMISSIVE' });

export function effectiveMtlsMode(policies: readonly PeerAuthnIR[] | undefined, workload: WorkloadIR, port: number): MtlsDecision {
  if (!policies || policies.length === 0) return DEFAULT_PERMISSIVE;
  let mesh: PeerAuthnIR | undefined;
  let ns: PeerAuthnIR | undefined;
  let wl: PeerAuthnIR | undefined;
  for (const p of policies) {
    switch (p.scope.kind) {
      case 'mesh':
        mesh ??= p;
        break;
      case 'namespace':
        if (p.namespace === workload.namespace) ns ??= p;
        break;
      case 'selector':
        if (p.namespace === workload.namespace && labelsMatch(p.scope.matchLabels, workload.labels)) wl ??= p;
        break;
    }
  }
  let decision = DEFAULT_PERMISSIVE;
  for (const p of [mesh, ns, wl]) {
    if (p && p.mode !== 'UNSET') decision = { mode: p.mode, policy: `${p.namespace}/${p.name}` };
  }
  const portMode = wl?.portLevel[port];
  if (wl && portMode !== undefined && portMode !== 'UNSET') decision = { mode: portMode, policy: `${wl.namespace}/${wl.name}` };
  return decision;
}
