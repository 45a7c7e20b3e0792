/**
 * The summaries `istioctl ztunnel-config` prints (istioctl/pkg/writer/ztunnel/configdump/*.go),
 * same columns and sort order, for a machine without istioctl. Waypoints are named as istioctl
 * names them (the Service whose `ns/hostname` or VIP is the waypoint address), else by our dump's
 * waypoint list, else by the address itself.
 */
import type { DumpCert, DumpService, ZtunnelDumpView } from './dump-reader.js';
import { formatTable } from './table.js';

export type ZtunnelConfigKind = 'workloads' | 'services' | 'policies' | 'certificates' | 'connections' | 'all';

export const ZTUNNEL_CONFIG_KINDS: readonly ZtunnelConfigKind[] = ['workloads', 'services', 'policies', 'certificates', 'connections', 'all'];

function waypointName(d: ZtunnelDumpView, destination: string | undefined): string {
  if (destination === undefined) return 'None';
  for (const s of d.services) {
    if (`${s.namespace}/${s.hostname}` === destination || s.vips.includes(destination)) return s.name;
  }
  const own = d.waypointNames.get(destination);
  if (own !== undefined) return own.slice(own.indexOf('/') + 1);
  return destination.startsWith('/') ? destination.slice(1) : destination;
}

function serviceWaypoint(d: ZtunnelDumpView, s: DumpService): string {
  if (s.weightedWaypoints.length === 0) return waypointName(d, s.waypoint);
  // A canary set (Istio 1.31): every waypoint with its share.
  return s.weightedWaypoints.map((w) => `${waypointName(d, w.destination)}(${w.weight})`).join(',');
}

const byKeys = <T>(...keys: ((x: T) => string)[]) => (a: T, b: T): number => {
  for (const k of keys) {
    const c = k(a).localeCompare(k(b));
    if (c !== 0) return c;
  }
  return 0;
};

export function workloadsView(d: ZtunnelDumpView): string {
  const rows = [...d.workloads]
    .sort(byKeys((w) => w.namespace, (w) => w.name, (w) => w.node))
    .map((w) => [w.namespace, w.name, w.ips.join(','), w.node, waypointName(d, w.waypoint), w.protocol]);
  return formatTable(['NAMESPACE', 'POD NAME', 'ADDRESS', 'NODE', 'WAYPOINT', 'PROTOCOL'], rows);
}

export function servicesView(d: ZtunnelDumpView): string {
  const healthy = new Set(d.workloads.filter((w) => w.status === 'Healthy').map((w) => w.uid));
  const rows = [...d.services]
    .sort(byKeys((s) => s.namespace, (s) => s.name, (s) => s.hostname))
    .map((s) => [
      s.namespace,
      s.name,
      s.vips.map((v) => v.slice(v.indexOf('/') + 1)).join(','),
      serviceWaypoint(d, s),
      `${s.endpointUids.filter((u) => healthy.has(u)).length}/${s.endpointUids.length}`,
    ]);
  return formatTable(['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'], rows);
}

export function policiesView(d: ZtunnelDumpView): string {
  const rows = [...d.policies].sort(byKeys((p) => p.namespace, (p) => p.name)).map((p) => [p.namespace, p.name, p.action, p.scope]);
  return formatTable(['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'], rows);
}

function hexSerial(decimal: string): string {
  return /^[0-9]+$/.test(decimal) ? BigInt(decimal).toString(16) : decimal;
}

function valid(c: DumpCert, now: number): string {
  if (c.expirationTime === '' && c.validFrom === '') return 'false';
  return String(Date.parse(c.expirationTime) > now && Date.parse(c.validFrom) <= now);
}

export function certificatesView(d: ZtunnelDumpView, now = Date.now()): string {
  const na = (v: string): string => (v === '' ? 'NA' : v);
  const rows: string[][] = [];
  for (const c of d.certificates) {
    const state = c.state.includes('Unavailable') ? 'Unavailable' : c.state;
    if (c.certChain.length === 0) {
      rows.push([c.identity, 'NA', state, 'false', 'NA', 'NA', 'NA']);
      continue;
    }
    c.certChain.forEach((x, i) => rows.push([c.identity, i === 0 ? 'Leaf' : 'Intermediate', state, valid(x, now), hexSerial(x.serialNumber), na(x.expirationTime), na(x.validFrom)]));
    for (const x of c.rootCerts) rows.push([c.identity, 'Root', state, valid(x, now), hexSerial(x.serialNumber), na(x.expirationTime), na(x.validFrom)]);
  }
  return formatTable(['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows, 5);
}

export function connectionsView(d: ZtunnelDumpView): string {
  // Addresses are shown as names where the dump knows them, as istioctl does without --raw.
  const names = new Map<string, string>();
  for (const s of d.services) {
    const v = s.vips[0];
    names.set(v ? v.slice(v.indexOf('/') + 1) : 'None', s.hostname);
  }
  for (const w of d.workloads) names.set(w.ips[0] ?? 'None', `${w.name}.${w.namespace}`);
  const lookup = (hostPort: string): string => {
    const i = hostPort.lastIndexOf(':');
    const ip = i < 0 ? hostPort : hostPort.slice(0, i);
    const name = names.get(ip);
    return name ? (i < 0 ? name : `${name}:${hostPort.slice(i + 1)}`) : hostPort;
  };
  const rows: string[][] = [];
  for (const s of [...d.workloadState].sort(byKeys((x) => x.namespace, (x) => x.name))) {
    const name = `${s.name}.${s.namespace}`;
    for (const c of s.inbound) rows.push([name, 'Inbound', lookup(c.actualDst), lookup(c.src), c.originalDst, c.protocol]);
    for (const c of s.outbound) rows.push([name, 'Outbound', lookup(c.src), lookup(c.actualDst), lookup(c.originalDst), c.protocol]);
  }
  return formatTable(['WORKLOAD', 'DIRECTION', 'LOCAL', 'REMOTE', 'REMOTE TARGET', 'PROTOCOL'], rows);
}

export function renderView(kind: ZtunnelConfigKind, d: ZtunnelDumpView): string {
  switch (kind) {
    case 'workloads':
      return workloadsView(d);
    case 'services':
      return servicesView(d);
    case 'policies':
      return policiesView(d);
    case 'certificates':
      return certificatesView(d);
    case 'connections':
      return connectionsView(d);
    case 'all':
      return [workloadsView(d), servicesView(d), policiesView(d), certificatesView(d), connectionsView(d)].join('\n');
  }
}
