/**
 * A pod on this ztunnel's node named the way the fixed-destination listeners name one: by its IP
 * or as `namespace/name`.
 */
import type { WorkloadIR } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';

export function localPod(view: MeshView, node: string, ref: string, accept: (w: WorkloadIR) => boolean = () => true): WorkloadIR | undefined {
  for (const w of view.workloadsOnNode(node)) {
    if ((w.ip === ref || `${w.namespace}/${w.name}` === ref) && accept(w)) return w;
  }
  return undefined;
}
