/**
 * The mesh view → Istio's workload API resources, as istiod serves them to ztunnel
 * (`istio.workload.Address`, `istio.security.Authorization`; field meanings from istio/ztunnel
 * proto/workload.proto and authorization.proto). The inverse of `config/from-xds/wds-*.ts`.
 *
 * Resource names are what ztunnel keys removals by: a Workload's `uid`
 * (`<cluster>//Pod/<ns>/<name>`, Istio's format), a Service's `<ns>/<hostname>`, an
 * Authorization's `<ns>/<name>`. Every waypoint is also published as a Workload at its address
 * with its own identity: Istio's ztunnel resolves a Service's waypoint address to a Workload (or
 * a Service's endpoints) to learn which identity the waypoint must present, and refuses an
 * unknown one. Objects are plain JSON for protobufjs (`bytes` as base64, enums by name).
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { AppProtocol, CidrIR, L4MatchIR, L4PolicyIR, ServiceIR, StringMatchIR, WaypointIR, WorkloadIR } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';

export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';

export type WireObject = Record<string, unknown>;

/** `ServicePortIR.appProtocol` → `istio.workload.AppProtocol` (UNKNOWN: ztunnel sniffs nothing, the waypoint decides). */
const WIRE_APP_PROTOCOL: Readonly<Record<AppProtocol, string>> = { http: 'HTTP11', http2: 'HTTP2', grpc: 'GRPC', tcp: 'TCP', tls: 'TLS', unknown: 'UNKNOWN' };

export interface WorkloadResourceOptions {
  /** Istio's `CLUSTER_ID` (default `Kubernetes`): the first part of every workload uid. */
  readonly clusterId: string;
}

export interface WorkloadResources {
  /** By resource name. */
  readonly [ADDRESS_TYPE_URL]: ReadonlyMap<string, WireObject>;
  readonly [AUTHORIZATION_TYPE_URL]: ReadonlyMap<string, WireObject>;
}

export function workloadResources(view: MeshView, opts: WorkloadResourceOptions): WorkloadResources {
  const addresses = new Map<string, WireObject>();
  const authorizations = new Map<string, WireObject>();
  const snap = view.snapshot;
  const td = snap.mesh.trustDomain;
  // Which Services each workload backs, with its target port per service port.
  const backs = new Map<WorkloadIR, Map<string, { service_port: number; target_port: number }[]>>();
  for (const s of snap.services.values()) {
    for (const p of s.ports) {
      for (const ep of view.endpoints(s, p.port)) {
        let m = backs.get(ep.workload);
        if (!m) backs.set(ep.workload, (m = new Map<string, { service_port: number; target_port: number }[]>()));
        const key = `${s.namespace}/${s.hostname}`;
        const list = m.get(key) ?? [];
        list.push({ service_port: p.port, target_port: ep.targetPort });
        m.set(key, list);
      }
    }
    addresses.set(`${s.namespace}/${s.hostname}`, { service: serviceOf(view, s) });
  }
  for (const w of snap.workloads.values()) {
    const uid = workloadUid(opts.clusterId, w.namespace, w.name);
    const selected = view
      .l4PoliciesFor(w)
      .filter((p) => p.scope.kind === 'selector')
      .map((p) => `${p.namespace}/${p.name}`);
    const services: WireObject = {};
    for (const [key, ports] of backs.get(w) ?? []) services[key] = { ports };
    addresses.set(uid, {
      workload: {
        uid,
        name: w.name,
        namespace: w.namespace,
        addresses: [ipBytes(w.ip)],
        network: '',
        tunnel_protocol: w.protocol === 'HBONE' ? 'HBONE' : 'NONE',
        trust_domain: td,
        service_account: w.serviceAccount,
        node: w.node,
        canonical_name: w.canonicalName,
        canonical_revision: w.canonicalRevision,
        workload_type: 'POD',
        workload_name: w.workloadName,
        authorization_policies: selected,
        status: 'HEALTHY',
        cluster_id: opts.clusterId,
        services,
      },
    });
  }
  for (const wp of snap.waypoints.values()) {
    for (const [i, ip] of view.waypointAddresses(wp).filter((a) => isIP(a) !== 0).entries()) {
      // A waypoint that runs as a configured pod is published as that pod already.
      if (view.workloadByIp(ip)) continue;
      const uid = workloadUid(opts.clusterId, wp.namespace, i === 0 ? wp.name : `${wp.name}-${i}`);
      addresses.set(uid, { workload: waypointWorkload(uid, wp, ip, td, opts.clusterId) });
    }
  }
  for (const p of snap.l4Policies) authorizations.set(`${p.namespace}/${p.name}`, authorizationOf(p));
  return { [ADDRESS_TYPE_URL]: addresses, [AUTHORIZATION_TYPE_URL]: authorizations };
}

/** Istio's workload uid: `<cluster>/<group>/<kind>/<namespace>/<name>` (core group is empty). */
export function workloadUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

function waypointWorkload(uid: string, wp: WaypointIR, ip: string, trustDomain: string, clusterId: string): WireObject {
  return {
    uid,
    name: wp.name,
    namespace: wp.namespace,
    addresses: [ipBytes(ip)],
    network: '',
    tunnel_protocol: 'HBONE',
    trust_domain: trustDomain,
    service_account: wp.serviceAccount,
    canonical_name: wp.name,
    canonical_revision: 'latest',
    workload_type: 'POD',
    workload_name: wp.name,
    status: 'HEALTHY',
    cluster_id: clusterId,
  };
}

function serviceOf(view: MeshView, s: ServiceIR): WireObject {
  const wp = view.waypointOf(s);
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses: s.vips.filter((v) => isIP(v) !== 0).map((v) => ({ network: '', address: ipBytes(v) })),
    // A named target port is resolved per endpoint (the workload's `services` map); 0 says so.
    ports: s.ports.map((p) => ({ service_port: p.port, target_port: typeof p.targetPort === 'number' ? p.targetPort : 0, app_protocol: WIRE_APP_PROTOCOL[p.appProtocol] })),
    ...(wp ? { waypoint: gatewayAddress(view, wp) } : {}),
    // Istio 1.31 canary: istiod's `[{primary, 100 - w}, {canary, w}]`; `waypoint` stays the primary
    // for ztunnels that do not know the field.
    ...weightedWaypointsOf(view, s),
  };
}

function weightedWaypointsOf(view: MeshView, s: ServiceIR): WireObject {
  const set = view.weightedWaypoints(s);
  return set ? { weighted_waypoints: set.map((w) => ({ destination: gatewayAddress(view, w.waypoint), weight: w.weight })) } : {};
}

function gatewayAddress(view: MeshView, wp: WaypointIR): WireObject {
  const ip = view.waypointAddresses(wp).find((a) => isIP(a) !== 0);
  if (ip) return { address: { network: '', address: ipBytes(ip) }, hbone_mtls_port: wp.hbonePort };
  const host = wp.hostnames?.[0] ?? `${wp.name}.${wp.namespace}.svc.${view.snapshot.mesh.clusterDomain}`;
  return { hostname: { namespace: wp.namespace, hostname: host }, hbone_mtls_port: wp.hbonePort };
}

function authorizationOf(p: L4PolicyIR): WireObject {
  const scope = p.scope.kind === 'global' ? 'GLOBAL' : p.scope.kind === 'namespace' ? 'NAMESPACE' : 'WORKLOAD_SELECTOR';
  return {
    name: p.name,
    namespace: p.namespace,
    scope,
    action: p.action,
    rules: p.rules.map((clauses) => ({ clauses: clauses.map((matches) => ({ matches: matches.map(matchOf) })) })),
    dry_run: p.dryRun,
  };
}

function matchOf(m: L4MatchIR): WireObject {
  return {
    namespaces: m.namespaces.map(stringMatch),
    not_namespaces: m.notNamespaces.map(stringMatch),
    service_accounts: m.serviceAccounts.map((a) => ({ namespace: a.namespace, serviceAccount: a.serviceAccount })),
    not_service_accounts: m.notServiceAccounts.map((a) => ({ namespace: a.namespace, serviceAccount: a.serviceAccount })),
    principals: m.principals.map(stringMatch),
    not_principals: m.notPrincipals.map(stringMatch),
    source_ips: m.sourceIps.map(cidr),
    not_source_ips: m.notSourceIps.map(cidr),
    destination_ips: m.destinationIps.map(cidr),
    not_destination_ips: m.notDestinationIps.map(cidr),
    destination_ports: [...m.destinationPorts],
    not_destination_ports: [...m.notDestinationPorts],
  };
}

function stringMatch(s: StringMatchIR): WireObject {
  return s.kind === 'presence' ? { presence: {} } : { [s.kind]: s.value };
}

function cidr(c: CidrIR): WireObject {
  return { address: Buffer.from(c.network).toString('base64'), length: c.prefixLength };
}

/** An IP address as the 4 or 16 bytes the workload API carries, base64 for protobufjs. */
export function ipBytes(ip: string): string {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number)).toString('base64');
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(parseInt(g, 16), i * 2));
  return buf.toString('base64');
}
