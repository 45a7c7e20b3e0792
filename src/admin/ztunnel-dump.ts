/**
 * The JSON shape of Istio's ztunnel `/config_dump` (istio/ztunnel src/admin.rs `ConfigDump`,
 * src/state.rs `ProxyStateSerialization`), which `istioctl ztunnel-config workloads|services|
 * policies|certificates|connections` reads (istioctl/pkg/writer/ztunnel/configdump/api.go):
 * top-level `workloads`, `services`, `policies` (lists), `certificates` and `workloadState`
 * (keyed by workload uid). Built from the IR; field names and enum spellings follow ztunnel's
 * serde output (camelCase; `Healthy`, `HBONE`, `Allow`, `WorkloadSelector`...). Addresses are
 * `network/ip` with the default (empty) network, as ztunnel prints them.
 */
const { X509Certificate } = process.getBuiltinModule('node:crypto');
import type { L4MatchIR, L4PolicyIR, ServiceIR, StringMatchIR, WaypointIR, WorkloadIR } from '../config/ir.js';
import type { TlsMaterial } from '../identity/tls-material.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ConnectionRecord } from '../ztunnel/connection-record.js';

/** ztunnel's cluster id when istiod names none (`CLUSTER_ID` default). */
const CLUSTER_ID = 'Kubernetes';

export interface ZtunnelDumpInput {
  readonly view: MeshView;
  readonly node: string;
  /** The local workloads' certificates, one per identity. */
  readonly certificates: readonly TlsMaterial[];
  readonly roots: readonly string[];
  readonly connections: readonly ConnectionRecord[];
}

export function ztunnelDump(i: ZtunnelDumpInput): Record<string, unknown> {
  const { view } = i;
  const s = view.snapshot;
  const workloads = [...s.workloads.values()].sort((a, b) => uidOf(a).localeCompare(uidOf(b)));
  const services = [...s.services.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const policies = [...s.l4Policies].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return {
    workloads: workloads.map((w) => workloadJson(w, s.mesh.trustDomain, view)),
    services: services.map((svc) => serviceJson(svc, view)),
    policies: policies.map(policyJson),
    certificates: i.certificates.map((m) => certsJson(m, i.roots)),
    workloadState: workloadState(i),
    // Our addition (istioctl ignores unknown keys): waypoint Gateways by address, so a view can
    // name a waypoint whose address is not a Service VIP (the local mesh's Gateway IPs).
    waypoints: [...s.waypoints.values()].map((wp) => ({ name: wp.name, namespace: wp.namespace, destination: gatewayAddress(wp).destination })),
  };
}

/** ztunnel's uid for a Kubernetes pod: `<cluster>//Pod/<ns>/<name>`. */
export function uidOf(w: WorkloadIR): string {
  return w.uid.startsWith('Pod/') ? `${CLUSTER_ID}//${w.uid}` : w.uid;
}

function address(ip: string): string {
  return `/${ip}`;
}

/** A GatewayAddress: `network/ip` for an IP waypoint, `namespace/hostname` for a hostname one. */
function gatewayAddress(wp: WaypointIR): { destination: string; hboneMtlsPort: number } {
  const ip = wp.addresses[0];
  const host = wp.hostnames?.[0];
  const destination = ip !== undefined ? address(ip) : `${wp.namespace}/${host ?? `${wp.name}.${wp.namespace}`}`;
  return { destination, hboneMtlsPort: wp.hbonePort };
}

function workloadJson(w: WorkloadIR, trustDomain: string, view: MeshView): Record<string, unknown> {
  const wp = view.waypoint(w.namespace, w.labels['istio.io/use-waypoint'] ?? '');
  return {
    uid: uidOf(w),
    workloadIps: [w.ip],
    ...(wp && (wp.waypointFor === 'workload' || wp.waypointFor === 'all') ? { waypoint: gatewayAddress(wp) } : {}),
    protocol: w.protocol,
    name: w.name,
    namespace: w.namespace,
    serviceAccount: w.serviceAccount,
    workloadName: w.workloadName,
    workloadType: w.workloadName === w.name ? 'pod' : 'deployment',
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    clusterId: CLUSTER_ID,
    trustDomain,
    node: w.node,
    status: 'Healthy',
    hostname: '',
    capacity: 1,
  };
}

function serviceJson(svc: ServiceIR, view: MeshView): Record<string, unknown> {
  const ports: Record<string, number> = {};
  for (const p of svc.ports) ports[String(p.port)] = typeof p.targetPort === 'number' ? p.targetPort : 0;
  const endpoints: Record<string, unknown> = {};
  const byWorkload = new Map<string, Record<string, number>>();
  for (const p of svc.ports) {
    for (const ep of view.endpoints(svc, p.port)) {
      const uid = uidOf(ep.workload);
      let port = byWorkload.get(uid);
      if (!port) {
        byWorkload.set(uid, (port = {}));
        endpoints[`${uid}:${address(ep.workload.ip)}`] = { workloadUid: uid, service: `${svc.namespace}/${svc.hostname}`, address: address(ep.workload.ip), port };
      }
      port[String(p.port)] = ep.targetPort;
    }
  }
  const wp = view.waypointOf(svc);
  const weighted = view.weightedWaypoints(svc);
  return {
    name: svc.name,
    namespace: svc.namespace,
    hostname: svc.hostname,
    vips: svc.vips.map(address),
    ports,
    endpoints,
    subjectAltNames: [],
    ...(wp ? { waypoint: gatewayAddress(wp) } : {}),
    ...(weighted ? { weightedWaypoints: weighted.map((w) => ({ destination: gatewayAddress(w.waypoint), weight: w.weight })) } : {}),
    ipFamilies: svc.vips.some((v) => v.includes(':')) ? (svc.vips.some((v) => !v.includes(':')) ? 'Dual' : 'IPv6') : 'IPv4',
  };
}

function policyJson(p: L4PolicyIR): Record<string, unknown> {
  const scope = p.scope.kind === 'global' ? 'Global' : p.scope.kind === 'namespace' ? 'Namespace' : 'WorkloadSelector';
  return {
    name: p.name,
    namespace: p.namespace,
    scope,
    action: p.action === 'ALLOW' ? 'Allow' : 'Deny',
    rules: p.rules.map((clauses) => clauses.map((matches) => matches.map(matchJson))),
    ...(p.dryRun ? { dryRun: true } : {}),
  };
}

function matchJson(m: L4MatchIR): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const strings = (k: string, v: readonly StringMatchIR[]): void => {
    if (v.length > 0) o[k] = v.map(stringMatch);
  };
  strings('namespaces', m.namespaces);
  strings('notNamespaces', m.notNamespaces);
  if (m.serviceAccounts.length > 0) o['serviceAccounts'] = m.serviceAccounts.map((x) => ({ namespace: x.namespace, serviceAccount: x.serviceAccount }));
  if (m.notServiceAccounts.length > 0) o['notServiceAccounts'] = m.notServiceAccounts.map((x) => ({ namespace: x.namespace, serviceAccount: x.serviceAccount }));
  strings('principals', m.principals);
  strings('notPrincipals', m.notPrincipals);
  if (m.sourceIps.length > 0) o['sourceIps'] = m.sourceIps.map((c) => c.text);
  if (m.notSourceIps.length > 0) o['notSourceIps'] = m.notSourceIps.map((c) => c.text);
  if (m.destinationIps.length > 0) o['destinationIps'] = m.destinationIps.map((c) => c.text);
  if (m.notDestinationIps.length > 0) o['notDestinationIps'] = m.notDestinationIps.map((c) => c.text);
  if (m.destinationPorts.length > 0) o['destinationPorts'] = [...m.destinationPorts];
  if (m.notDestinationPorts.length > 0) o['notDestinationPorts'] = [...m.notDestinationPorts];
  return o;
}

/** ztunnel's StringMatcher serializes as an externally tagged enum: `{"Exact": "x"}`. */
function stringMatch(m: StringMatchIR): Record<string, unknown> {
  switch (m.kind) {
    case 'exact':
      return { Exact: m.value };
    case 'prefix':
      return { Prefix: m.value };
    case 'suffix':
      return { Suffix: m.value };
    case 'presence':
      return { Presence: {} };
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g;

function certJson(pem: string): Record<string, string> {
  const x = new X509Certificate(pem);
  return {
    pem: pem.endsWith('\n') ? pem : `${pem}\n`,
    // ztunnel prints the serial in decimal (istioctl parses base 10, then shows hex).
    serialNumber: BigInt(`0x${x.serialNumber}`).toString(10),
    validFrom: isoSeconds(x.validFrom),
    expirationTime: isoSeconds(x.validTo),
  };
}

function isoSeconds(d: string): string {
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function certsJson(m: TlsMaterial, roots: readonly string[]): Record<string, unknown> {
  return {
    identity: m.identity,
    state: 'Available',
    certChain: (m.certChainPem.match(PEM_BLOCK) ?? []).map(certJson),
    rootCerts: roots.flatMap((r) => r.match(PEM_BLOCK) ?? []).map(certJson),
  };
}

/** Local workloads, by uid: identity info and their open connections (ztunnel's `WorkloadState`). */
function workloadState(i: ZtunnelDumpInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byName = new Map<string, { inbound: unknown[]; outbound: unknown[] }>();
  for (const w of i.view.workloadsOnNode(i.node)) {
    const connections = { inbound: [] as unknown[], outbound: [] as unknown[] };
    byName.set(`${w.namespace}/${w.name}`, connections);
    out[uidOf(w)] = {
      state: 'Up',
      connections,
      info: { name: w.name, namespace: w.namespace, trustDomain: i.view.snapshot.mesh.trustDomain, serviceAccount: w.serviceAccount },
    };
  }
  for (const r of i.connections) {
    const owner = r.direction === 'outbound' ? `${r.srcNamespace ?? ''}/${r.srcWorkload ?? ''}` : `${r.dstNamespace ?? ''}/${r.dstWorkload ?? ''}`;
    const c = byName.get(owner);
    if (!c) continue;
    const entry = {
      src: r.srcAddr,
      originalDst: r.direction === 'outbound' ? (r.dstHboneAddr ?? r.dstAddr ?? null) : null,
      actualDst: r.dstAddr ?? null,
      protocol: r.dstHboneAddr !== undefined ? 'HBONE' : 'TCP',
    };
    (r.direction === 'outbound' ? c.outbound : c.inbound).push(entry);
  }
  return out;
}
