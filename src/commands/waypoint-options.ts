/**
 * `ambient waypoint`'s command line: the option table (exported so the deploy tests parse the
 * manifests' args with this very parser), which Gateway the process serves, and where it listens.
 *
 * Which Gateway: `--gateway NAMESPACE/NAME`; `--gateway NAME` in the pod's namespace
 * (`POD_NAMESPACE`, from the downward API as Istio's waypoint template sets it); or Istio's own
 * waypoint argument `--serviceCluster NAME.NAMESPACE` (Istio passes `<service account>.$(POD_NAMESPACE)`,
 * and a waypoint's service account is named after its Gateway).
 *
 * Where it listens (`--bind`):
 * - `gateway` (default, the local mesh): the Gateway's IP addresses;
 * - `instance-ip`: the pod's own IP, `INSTANCE_IP` (downward API `status.podIP`, Istio's name). In
 *   a cluster the Gateway's address is the hostname of its Service, which no pod owns;
 * - `wildcard`: `0.0.0.0`, or `::` when `INSTANCE_IP` is IPv6 (how Istio picks its wildcard);
 * - an IP literal (`0.0.0.0`, `::` or one local address).
 * Outside `gateway` mode the admin API stays on `--admin-address` (default `127.0.0.1`, as Envoy's
 * admin in Istio's proxies), while readiness and Prometheus listen on the bound address.
 */
const { isIP } = process.getBuiltinModule('node:net');
const { parseArgs } = process.getBuiltinModule('node:util');
import type { WaypointRef } from '../config/ir.js';
import { CONTROL_PLANE_OPTIONS } from './control-plane-options.js';
import { ROLE_OPTIONS } from './serve-role.js';
import { TRACING_OPTIONS } from './tracing-options.js';
import { UsageError } from './usage-error.js';

export const WAYPOINT_OPTIONS = {
  ...ROLE_OPTIONS,
  ...TRACING_OPTIONS,
  ...CONTROL_PLANE_OPTIONS,
  /** No default here: without `--config`, a waypoint fed by a control plane reads no files (cluster-config-dir.ts). */
  config: { type: 'string' },
  gateway: { type: 'string' },
  /** Istio's waypoint argument (`<name>.<namespace>`), accepted as the Gateway when `--gateway` is absent. */
  serviceCluster: { type: 'string' },
  bind: { type: 'string', default: 'gateway' },
  'admin-address': { type: 'string' },
  concurrency: { type: 'string' },
  /** Envoy's per-connection buffer limit: what a filter may hold of a body (413 past it on requests). */
  'buffer-limit-bytes': { type: 'string' },
  /** Idle timeout of downstream connections (HTTP/1.1 keep-alive, the HTTP/2 session in a tunnel). */
  'idle-timeout-ms': { type: 'string' },
  /** Enables `/debug/trace` on the admin port (server-sent events of live requests); off by default. */
  'debug-trace': { type: 'boolean', default: false },
  address: { type: 'string', multiple: true },
  /** `baggage` with the waypoint's metadata on CONNECTs to destinations (istiod's AMBIENT_ENABLE_BAGGAGE; also read from that variable). */
  'connect-baggage': { type: 'boolean' },
} as const;

/** Parses `ambient waypoint`'s arguments (strict: an unknown flag is a usage error). */
export function parseWaypointArgs(argv: readonly string[]): ReturnType<typeof parseWaypointValues> {
  try {
    return parseWaypointValues(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseWaypointValues(argv: readonly string[]) {
  return parseArgs({ args: [...argv], options: WAYPOINT_OPTIONS, strict: true, allowPositionals: false }).values;
}

/** Which Gateway this waypoint serves. */
export function gatewayRef(values: { readonly gateway?: string | undefined; readonly serviceCluster?: string | undefined }, env: NodeJS.ProcessEnv = process.env): WaypointRef {
  const g = values.gateway;
  if (g !== undefined) {
    const [first = '', second] = g.split('/', 2);
    if (second !== undefined) return checkRef(first, second, g);
    const ns = env['POD_NAMESPACE'];
    if (!ns) throw new UsageError(`--gateway ${g}: give NAMESPACE/NAME, or set POD_NAMESPACE`);
    return checkRef(ns, first, g);
  }
  const sc = values.serviceCluster;
  if (sc !== undefined) {
    const dot = sc.indexOf('.');
    if (dot < 0) throw new UsageError(`--serviceCluster ${sc}: expected NAME.NAMESPACE`);
    return checkRef(sc.slice(dot + 1), sc.slice(0, dot), sc);
  }
  throw new UsageError('waypoint needs --gateway NAMESPACE/NAME (or --gateway NAME with POD_NAMESPACE, or --serviceCluster NAME.NAMESPACE)');
}

function checkRef(namespace: string, name: string, raw: string): WaypointRef {
  if (namespace === '' || name === '') throw new UsageError(`gateway ${JSON.stringify(raw)}: namespace and name must not be empty`);
  return { namespace, name };
}

export type WaypointBind =
  /** The Gateway's IP addresses (local mesh). */
  | { readonly kind: 'gateway' }
  /** These addresses, whatever the Gateway's addresses are. */
  | { readonly kind: 'addresses'; readonly addresses: readonly string[]; readonly adminHost: string };

export const BIND_MODES = ['gateway', 'instance-ip', 'wildcard'] as const;

/** Resolves `--bind` against the environment (`INSTANCE_IP`). */
export function waypointBind(mode: string | undefined, adminAddress: string | undefined, env: NodeJS.ProcessEnv = process.env): WaypointBind {
  const m = mode ?? 'gateway';
  if (adminAddress !== undefined && isIP(adminAddress) === 0) throw new UsageError(`--admin-address ${adminAddress} is not an IP address`);
  const adminHost = adminAddress ?? '127.0.0.1';
  if (m === 'gateway') return { kind: 'gateway' };
  const instanceIp = env['INSTANCE_IP'];
  if (m === 'instance-ip') {
    if (!instanceIp || isIP(instanceIp) === 0) {
      throw new UsageError(`--bind instance-ip needs INSTANCE_IP set to the pod's IP (downward API status.podIP)${instanceIp ? `, got ${JSON.stringify(instanceIp)}` : ''}`);
    }
    return { kind: 'addresses', addresses: [instanceIp], adminHost };
  }
  if (m === 'wildcard') return { kind: 'addresses', addresses: [instanceIp !== undefined && isIP(instanceIp) === 6 ? '::' : '0.0.0.0'], adminHost };
  if (isIP(m) !== 0) return { kind: 'addresses', addresses: [m], adminHost };
  throw new UsageError(`--bind must be one of ${BIND_MODES.join(', ')} or an IP address, got ${JSON.stringify(m)}`);
}
