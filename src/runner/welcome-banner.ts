/** What `ambient up` prints once the mesh is ready: what runs where, and how to send traffic. */
import type { WorkloadIR } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';
import { SOCKS5_PORT } from '../ztunnel/ports.js';

export interface BannerOptions {
  readonly configDir: string;
  readonly stateDir: string;
  readonly nodeAddress: (node: string) => string;
  /** The network namespace of a pod served by Istio's ztunnel (`--istio-ztunnel`), else undefined. */
  readonly istioZtunnel?: (w: WorkloadIR) => string | undefined;
}

export function welcomeBanner(view: MeshView, opts: BannerOptions): string {
  const s = view.snapshot;
  const lines: string[] = [];
  lines.push('', `ambient mesh is up (config ${opts.configDir}, generation ${s.generation})`, '');
  lines.push('Waypoints:');
  for (const wp of s.waypoints.values()) {
    lines.push(`  ${wp.namespace}/${wp.name}  ${wp.addresses.map((a) => `${a}:${wp.hbonePort}`).join(', ')}  ${wp.identity}`);
  }
  lines.push('Services:');
  for (const svc of s.services.values()) {
    const wp = view.waypointOf(svc);
    const ports = svc.ports.map((p) => `${p.port}/${p.appProtocol}`).join(',');
    const via = wp ? `via waypoint ${wp.namespace}/${wp.name}` : 'direct (no waypoint)';
    lines.push(`  ${svc.hostname}  ${svc.vips.join(',')}  ports ${ports}  ${via}`);
  }
  lines.push('Pods:');
  for (const w of s.workloads.values()) {
    const mesh = w.protocol !== 'HBONE' ? 'not in the mesh' : opts.istioZtunnel?.(w) ? `Istio ztunnel (${w.node}, netns ${opts.istioZtunnel(w)})` : `ztunnel ${w.node} (${opts.nodeAddress(w.node)})`;
    lines.push(`  ${w.namespace}/${w.name}  ${w.ip}  ${w.demoApp ? 'echo app' : 'client'}  ${mesh}`);
  }
  const client = [...s.workloads.values()].find((w) => w.protocol === 'HBONE' && !w.demoApp);
  const svc = [...s.services.values()].find((x) => view.waypointOf(x) && x.ports.some((p) => p.appProtocol === 'http'));
  if (client && svc) {
    const port = svc.ports.find((p) => p.appProtocol === 'http')?.port ?? 80;
    lines.push('', 'Send traffic from a pod (in another terminal):');
    lines.push(`  npx ambient curl --from ${client.name} http://${svc.name}:${port}/`);
    lines.push(`  curl --interface ${client.ip} --socks5-hostname ${client.ip}:${SOCKS5_PORT} http://${svc.name}.${svc.namespace}:${port}/`);
  }
  lines.push('', `Mesh root certificate: ${opts.stateDir}/ca/root-cert.pem`, 'Ctrl-C drains and stops everything.', '');
  return lines.join('\n');
}
