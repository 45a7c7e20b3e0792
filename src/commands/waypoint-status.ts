/**
 * `ambient waypoint status`: each waypoint of a config directory, whether it answers ready on
 * its readiness port (15021), and the Services it fronts (as primary, and as an Istio 1.31
 * canary with its share). Istio's `istioctl waypoint status` reports the Gateway's `Programmed`
 * condition set by istiod; without istiod, readiness of the waypoint itself is the equivalent.
 */
const { parseArgs } = process.getBuiltinModule('node:util');
import { READINESS_PORT } from '../admin/readiness-server.js';
import type { MeshView } from '../state/mesh-view.js';
import type { WaypointIR } from '../config/ir.js';
import { adminBase, getPage } from './admin-fetch.js';
import { DEFAULT_CONFIG_DIR } from './defaults.js';
import { loadView } from './load-view.js';
import { formatTable } from './ztunnel-config/table.js';

export async function runWaypointStatus(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      name: { type: 'string' },
      'timeout-ms': { type: 'string', default: '2000' },
    },
  });
  const view = await loadView(values.config ?? DEFAULT_CONFIG_DIR);
  const timeoutMs = Number(values['timeout-ms']) || 2000;
  const waypoints = [...view.snapshot.waypoints.values()]
    .filter((w) => (values.namespace === undefined || w.namespace === values.namespace) && (values.name === undefined || w.name === values.name))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  if (waypoints.length === 0) {
    process.stderr.write('ambient: no waypoint matches\n');
    return 1;
  }
  const rows = await Promise.all(waypoints.map((w) => statusRow(view, w, timeoutMs)));
  process.stdout.write(formatTable(['NAMESPACE', 'NAME', 'STATUS', 'TYPE', 'REASON', 'MESSAGE'], rows, 5));
  return rows.every((r) => r[2] === 'True') ? 0 : 1;
}

async function statusRow(view: MeshView, w: WaypointIR, timeoutMs: number): Promise<string[]> {
  const addresses = view.waypointAddresses(w);
  const fronts = describeServices(view, w);
  if (addresses.length === 0) return [w.namespace, w.name, 'False', 'Programmed', 'NoAddress', `no address to reach; ${fronts}`];
  const ready: string[] = [];
  const failures: string[] = [];
  for (const a of addresses) {
    try {
      const page = await getPage(`${adminBase(a, READINESS_PORT)}/healthz/ready`, timeoutMs);
      if (page.status === 200) ready.push(a);
      else failures.push(`${a} answered ${page.status}`);
    } catch (err) {
      failures.push(`${a}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (ready.length === 0) return [w.namespace, w.name, 'False', 'Programmed', 'NotReady', `${failures.join('; ')}; ${fronts}`];
  return [w.namespace, w.name, 'True', 'Programmed', 'Programmed', `${ready.length}/${addresses.length} ready; ${fronts}`];
}

function describeServices(view: MeshView, w: WaypointIR): string {
  const parts = view.servicesOfWaypoint(w).map((s) => {
    const set = view.weightedWaypoints(s);
    const mine = set?.find((x) => x.waypoint === w);
    return mine ? `${s.namespace}/${s.name} (${mine.role} ${mine.weight}%)` : `${s.namespace}/${s.name}`;
  });
  return parts.length > 0 ? `fronts ${parts.join(', ')}` : 'fronts no service';
}
