/**
 * Which processes the local mesh needs for a given view: one ztunnel per node that has pods, one
 * waypoint per waypoint Gateway, one demo app per pod that names a built-in image. The runner
 * diffs this list against what runs, so a config change starts or stops processes.
 *
 * Start-up order, written once (the runner starts in this order and stops in reverse):
 * 1. apps: nothing depends on them to start, and they must listen before traffic arrives;
 * 2. istiod (only when a node runs Istio's ztunnel): Istio's ztunnels fetch config and
 *    certificates from it before they are ready;
 * 3. ztunnels (ours, or Istio's per pod): they bind every pod's 15008/15080 and reach apps on demand;
 * 4. waypoints: last, so the ztunnels that deliver their upstream traffic already listen.
 */
import type { WorkloadIR } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';

export type Role = 'app' | 'istiod' | 'ztunnel' | 'waypoint';

export const ROLE_ORDER: readonly Role[] = ['app', 'istiod', 'ztunnel', 'waypoint'];

/** A program other than this CLI (Istio's ztunnel), readiness told by an HTTP URL answering 200. */
export interface ExternalProgram {
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  readonly readyUrl: string;
}

/** Nodes whose pods are served by Istio's ztunnel (dedicated mode, one per pod, each in its pod's network namespace). */
export interface IstioZtunnelPlan {
  readonly nodes: 'all' | ReadonlySet<string>;
  /** `--address` of the local istiod. */
  readonly istiodAddress: string;
  /** The network namespace a pod of such a node runs in (see pod-netns.ts). */
  netnsOf(w: WorkloadIR): string;
  /** Istio's ztunnel for a pod. */
  programFor(w: WorkloadIR): ExternalProgram;
}

export interface ProcessSpec {
  /** Unique and human: `ztunnel/node-a`, `waypoint/default/waypoint`, `app/default/reviews-v1`. */
  readonly name: string;
  readonly role: Role;
  /** Arguments after the CLI entry. */
  readonly args: readonly string[];
  /** Run inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  /** Set: run this program instead of the CLI (`args` are its arguments). */
  readonly external?: ExternalProgram;
}

export interface DesiredOptions {
  readonly configDir: string;
  readonly stateDir: string;
  /** Stable admin/readiness address per node (the runner assigns them once). */
  readonly nodeAddress: (node: string) => string;
  readonly extraArgs?: readonly string[];
  /** Arguments for waypoints only (tracing flags, which other roles do not take). */
  readonly waypointArgs?: readonly string[];
  /** Arguments for the data-plane roles, waypoints and ztunnels (`--concurrency N`), not apps. */
  readonly dataPlaneArgs?: readonly string[];
  readonly istioZtunnel?: IstioZtunnelPlan;
}

/** Whether a pod's node runs Istio's ztunnel under this plan. */
export function servedByIstioZtunnel(plan: IstioZtunnelPlan | undefined, w: WorkloadIR): boolean {
  return plan !== undefined && w.protocol === 'HBONE' && (plan.nodes === 'all' || plan.nodes.has(w.node));
}

export function desiredProcesses(view: MeshView, opts: DesiredOptions): ProcessSpec[] {
  const common = ['--config', opts.configDir, '--state', opts.stateDir, ...(opts.extraArgs ?? [])];
  const out: ProcessSpec[] = [];
  const workloads = [...view.snapshot.workloads.values()];
  const istio = opts.istioZtunnel;
  for (const w of workloads) {
    if (!w.demoApp) continue;
    const netns = servedByIstioZtunnel(istio, w) ? istio?.netnsOf(w) : undefined;
    out.push({ name: `app/${w.namespace}/${w.name}`, role: 'app', args: ['app', '--pod', `${w.namespace}/${w.name}`, ...common], ...(netns ? { netns } : {}) });
  }
  if (istio) {
    const served = workloads.filter((w) => servedByIstioZtunnel(istio, w));
    if (served.length > 0) out.push({ name: 'istiod', role: 'istiod', args: ['istiod', '--address', istio.istiodAddress, ...common] });
    for (const w of served) {
      out.push({ name: `istio-ztunnel/${w.namespace}/${w.name}`, role: 'ztunnel', args: [], netns: istio.netnsOf(w), external: istio.programFor(w) });
    }
  }
  const nodes = [...new Set(workloads.filter((w) => w.protocol === 'HBONE' && !servedByIstioZtunnel(istio, w)).map((w) => w.node))].sort();
  for (const node of nodes) {
    out.push({ name: `ztunnel/${node}`, role: 'ztunnel', args: ['ztunnel', '--node', node, '--admin-address', opts.nodeAddress(node), ...common, ...(opts.dataPlaneArgs ?? [])] });
  }
  for (const wp of view.snapshot.waypoints.values()) {
    out.push({ name: `waypoint/${wp.namespace}/${wp.name}`, role: 'waypoint', args: ['waypoint', '--gateway', `${wp.namespace}/${wp.name}`, ...common, ...(opts.dataPlaneArgs ?? []), ...(opts.waypointArgs ?? [])] });
  }
  return out.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
}
