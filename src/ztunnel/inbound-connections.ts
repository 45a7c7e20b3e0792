/**
 * The ztunnel's open inbound connections (HBONE and plaintext), so a policy change reaches them:
 * when the L4 AuthorizationPolicy or PeerAuthentication set changes, each is authorized again
 * under the new view and the ones now denied are closed, as Istio's ztunnel does (its connection
 * manager re-asserts RBAC on every tracked inbound connection when policies change and closes the
 * rejected ones with "connection closed due to policy change"). A `STRICT` PeerAuthentication is
 * a deny for plaintext here, as istiod's converted policy is for ztunnel.
 */
import type { WorkloadIR } from '../config/ir.js';
import { fingerprint } from '../config/fingerprint.js';
import type { MeshView } from '../state/mesh-view.js';
import type { L4Connection } from './l4-authz.js';
import { evaluateL4 } from './l4-authz.js';
import { effectiveMtlsMode } from './mtls-mode.js';

export interface TrackedInbound {
  /** The destination workload's uid; looked up again in the new view. */
  readonly workloadUid: string;
  /** The facts L4 policy saw (no `sourceIdentity` for plaintext). */
  readonly facts: L4Connection;
  /** Plaintext connections are also subject to the PeerAuthentication mode. */
  readonly plaintext: boolean;
  /** Closes the connection (both sides); called at most once. */
  readonly close: (why: string) => void;
}

export interface InboundRecheckResult {
  readonly checked: number;
  readonly closed: number;
}

export class InboundConnections {
  private readonly open = new Set<TrackedInbound>();
  private policyPrint: string | undefined;

  get size(): number {
    return this.open.size;
  }

  /** Tracks a connection until the returned function is called (when it ends). */
  add(c: TrackedInbound): () => void {
    this.open.add(c);
    return () => this.open.delete(c);
  }

  /**
   * Called on every view change: when the policy set differs from the last one seen, every open
   * connection is authorized again and the denied ones are closed. The first view only records
   * the policy set.
   */
  onView(view: MeshView): InboundRecheckResult {
    const print = fingerprint([view.snapshot.l4Policies, view.snapshot.peerAuthns ?? [], view.snapshot.mesh.rootNamespace]);
    const changed = this.policyPrint !== undefined && print !== this.policyPrint;
    this.policyPrint = print;
    return changed ? this.recheck(view) : { checked: 0, closed: 0 };
  }

  /** Authorizes every open connection under `view`; closes the denied ones. */
  recheck(view: MeshView): InboundRecheckResult {
    let closed = 0;
    const checked = this.open.size;
    for (const c of [...this.open]) {
      const why = denial(view, c);
      if (why === undefined) continue;
      this.open.delete(c);
      closed++;
      c.close(why);
    }
    return { checked, closed };
  }
}

function denial(view: MeshView, c: TrackedInbound): string | undefined {
  const w: WorkloadIR | undefined = view.snapshot.workloads.get(c.workloadUid);
  // A workload that is gone keeps its connections until they end, as listeners do.
  if (!w) return undefined;
  if (c.plaintext) {
    const m = effectiveMtlsMode(view.snapshot.peerAuthns, w, c.facts.destPort);
    if (m.mode === 'STRICT') return `plaintext not allowed: mTLS STRICT by ${m.policy ?? 'mesh'}`;
  }
  const d = evaluateL4(view.l4PoliciesFor(w), c.facts);
  return d.allowed ? undefined : `denied by ${d.policy ?? 'policy'} (${d.reason})`;
}
