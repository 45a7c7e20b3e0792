/**
 * Network namespaces for pods whose node runs Istio's ztunnel (`ambient up --istio-ztunnel`).
 *
 * Why: Istio's ztunnel in dedicated mode binds its ports on the wildcard address (`[::]` or
 * `0.0.0.0` :15008, :15006, :15001, :15020, :15021; istio/ztunnel src/config.rs), with no setting
 * to bind one IP. Two of them, or one beside our waypoint's `127.2.x.y:15008`, cannot share a
 * network namespace. So each such pod gets its own namespace, as in a cluster: its pod IP is local
 * there, its app and its Istio ztunnel run there, and a veth pair joins it to the mesh's namespace.
 *
 * The local mesh's addresses are all in 127.0.0.0/8, which Linux keeps on `lo` and drops on other
 * interfaces. Inside these private namespaces that is changed (never in the machine's own
 * namespace, which `ambient up` refuses to touch): `route_localnet=1` lets 127/8 cross the veth,
 * and the catch-all `local 127.0.0.0/8` route moves from the `local` table to `main`, where the
 * longer `/32` routes to each pod's veth win over it. In the pod's namespace only `127.0.0.1` and
 * the pod IP stay local; the rest of 127/8 goes to the mesh, leaving from the pod IP.
 */
const { execFileSync } = process.getBuiltinModule('node:child_process');
const { createHash } = process.getBuiltinModule('node:crypto');

/** Connections from the mesh's namespace into a pod's leave from this address (the "node router"). */
export const MESH_ROUTER_SUFFIX = 254;

export interface PodNetns {
  /** `ip netns` name. */
  readonly name: string;
  readonly podIp: string;
  /** The veth end in the mesh's namespace. */
  readonly hostVeth: string;
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryIp(args: readonly string[]): boolean {
  try {
    ip(args);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether this process runs in a network namespace of its own: nothing but `lo` and the veths
 * made here (as after `unshare -n`). A namespace with any other interface (eth0...) is shared
 * with the machine or a container's other processes, and its routes are left alone.
 */
export function inPrivateNetns(): boolean {
  const out = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  const names = out
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return names.every((n) => n === 'lo' || n.startsWith('awh'));
}

/**
 * `aw-<hash>` of the mesh's state directory and the pod: stable per pod of one mesh, distinct
 * between meshes (namespace names are machine-wide), short enough for interface names (15 bytes).
 */
export function podNetnsName(stateDir: string, namespace: string, name: string): string {
  return `aw-${createHash('sha256').update(`${stateDir}\0${namespace}/${name}`).digest('hex').slice(0, 8)}`;
}

/**
 * Makes the mesh's (private) namespace route 127/8 per destination: once, before any pod
 * namespace. Idempotent.
 */
export function prepareMeshNetns(): void {
  if (!inPrivateNetns()) throw new Error('refusing to change routes in a shared network namespace (it has interfaces other than lo); run ambient up inside its own, e.g. `unshare -n` (docs/istio-ztunnel.md)');
  ip(['link', 'set', 'lo', 'up']);
  // Pod to pod (one Istio ztunnel to another) is forwarded by the mesh's namespace.
  for (const key of ['net.ipv4.conf.all.route_localnet', 'net.ipv4.conf.default.route_localnet', 'net.ipv4.ip_forward']) execFileSync('sysctl', ['-qw', `${key}=1`]);
  if (tryIp(['route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local'])) ip(['route', 'add', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'main']);
}

/** Creates (or re-creates) a pod's namespace joined to the mesh's. */
export function createPodNetns(ns: string, podIp: string, routerIp: string): PodNetns {
  const suffix = ns.slice(3);
  const hostVeth = `awh${suffix}`;
  const podVeth = `awp${suffix}`;
  deletePodNetns(ns, hostVeth);
  ip(['netns', 'add', ns]);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', podVeth, 'netns', ns]);
  // proxy_arp: the mesh side answers the pod's ARP for other pods' IPs (forwarded, not local).
  execFileSync('sysctl', ['-qw', `net.ipv4.conf.${hostVeth}.route_localnet=1`, `net.ipv4.conf.${hostVeth}.proxy_arp=1`]);
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', `net.ipv4.conf.${podVeth}.route_localnet=1`]);
  ip(['link', 'set', hostVeth, 'up']);
  ip(['-n', ns, 'link', 'set', podVeth, 'up']);
  ip(['route', 'replace', `${podIp}/32`, 'dev', hostVeth, 'src', routerIp]);
  ip(['-n', ns, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local']);
  ip(['-n', ns, 'route', 'add', 'local', `${podIp}/32`, 'dev', 'lo', 'table', 'local']);
  ip(['-n', ns, 'route', 'add', '127.0.0.0/8', 'dev', podVeth, 'src', podIp]);
  return { name: ns, podIp, hostVeth };
}

/** Removes a pod's namespace and its veth (deleting either end deletes both). Idempotent. */
export function deletePodNetns(ns: string, hostVeth = `awh${ns.slice(3)}`): void {
  tryIp(['link', 'del', hostVeth]);
  tryIp(['netns', 'del', ns]);
}
