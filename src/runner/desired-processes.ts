/**
 * Which processes the local mesh needs for a given view: one ztunnel per node that has pods, one
 * waypoint per waypoint Gateway, one demo app per pod that names a built-in image. The runner
 * diffs this list against what runs, so a config change starts or stops processes.
 *
 * Start-up order, written once (the runner starts in this order and stops in reverse):
 * 1. apps: nothing depends on them to start, and they must listen before traffic arrives;
 * 2. ztunnels: they bind every pod's 15008/15080 and reach apps on demand;
 * 3. waypoints: last, so the ztunnels that deliver their upstream traffic already listen.
 */
import type { MeshView } from '../state/mesh-view.js';

export type Role = 'app' | 'ztunnel' | 'waypoint';

export const ROLE_ORDER: readonly Role[] = ['app', 'ztunnel', 'waypoint'];

export interface ProcessSpec {
  /** Unique and human: `ztunnel/node-a`, `waypoint/default/waypoint`, `app/default/reviews-v1`. */
  readonly name: string;
  readonly role: Role;
  /** Arguments after the CLI entry. */
  readonly args: readonly string[];
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
}

export function desiredProcesses(view: MeshView, opts: DesiredOptions): ProcessSpec[] {
  const common = ['--config', opts.configDir, '--state', opts.stateDir, ...(opts.extraArgs ?? [])];
  const out: ProcessSpec[] = [];
  const workloads = [...view.snapshot.workloads.values()];
  for (const w of workloads) {
    if (!w.demoApp) continue;
    out.push({ name: `app/${w.namespace}/${w.name}`, role: 'app', args: ['app', '--pod', `${w.namespace}/${w.name}`, ...common] });
  }
  const nodes = [...new Set(workloads.filter((w) => w.protocol === 'HBONE').map((w) => w.node))].sort();
  for (const node of nodes) {
    out.push({ name: `ztunnel/${node}`, role: 'ztunnel', args: ['ztunnel', '--node', node, '--admin-address', opts.nodeAddress(node), ...common, ...(opts.dataPlaneArgs ?? [])] });
  }
  for (const wp of view.snapshot.waypoints.values()) {
    out.push({ name: `waypoint/${wp.namespace}/${wp.name}`, role: 'waypoint', args: ['waypoint', '--gateway', `${wp.namespace}/${wp.name}`, ...common, ...(opts.dataPlaneArgs ?? []), ...(opts.waypointArgs ?? [])] });
  }
  return out.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
}
