/**
 * PeerAuthentication drafts → IR, in the snapshot builder: the scope needs the root namespace, and
 * the list is sorted once here so the ztunnel's per-connection lookup takes the first match.
 */
import type { DiagnosticCode, Severity } from './diagnostics.js';
import type { MeshIR } from './ir.js';
import type { PeerAuthnIR, PeerAuthnScopeIR } from './ir-security.js';
import type { FieldPath } from './from-k8s/object-reader.js';
import type { ObjectRef, PeerAuthnDraft } from './from-k8s/translator.js';

type Report = (ref: ObjectRef, severity: Severity, code: DiagnosticCode, path: FieldPath, message: string) => void;

/**
 * Istio's order among policies of one level (`sortConfigByCreationTime`): oldest
 * `creationTimestamp` first, then name, then namespace. A missing timestamp counts as the oldest.
 */
export function comparePeerAuthns(a: PeerAuthnIR, b: PeerAuthnIR): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

export function buildPeerAuthns(objects: readonly { readonly value: PeerAuthnDraft; readonly ref: ObjectRef }[], mesh: MeshIR, report: Report): PeerAuthnIR[] {
  const out: PeerAuthnIR[] = [];
  for (const o of objects) {
    const { selector, ...rest } = o.value;
    const root = o.value.namespace === mesh.rootNamespace;
    if (root && selector !== undefined) {
      report(o.ref, 'warning', 'UNSUPPORTED', ['spec', 'selector'], 'PeerAuthentication with a workload selector in the root namespace is ignored, as Istio does');
      continue;
    }
    const scope: PeerAuthnScopeIR = selector !== undefined ? { kind: 'selector', matchLabels: selector } : root ? { kind: 'mesh' } : { kind: 'namespace' };
    out.push({ ...rest, scope });
  }
  return out.sort(comparePeerAuthns);
}
