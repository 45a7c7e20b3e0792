/**
 * Reads a ztunnel `/config_dump` (ours or Istio's ztunnel) into the few fields the views print,
 * validating as it goes: `unknown` in, typed out, anything missing or of the wrong type becomes
 * an empty value rather than a crash. Sections may be lists (current ztunnel) or maps keyed by
 * uid/hostname (older ztunnel), as istioctl accepts both.
 */

export interface DumpWorkload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly ips: readonly string[];
  readonly node: string;
  readonly protocol: string;
  readonly status: string;
  readonly waypoint?: string;
}

export interface DumpService {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly string[];
  readonly waypoint?: string;
  readonly weightedWaypoints: readonly { readonly destination: string; readonly weight: number }[];
  readonly endpointUids: readonly string[];
}

export interface DumpPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: string;
  readonly scope: string;
}

export interface DumpCert {
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly expirationTime: string;
}

export interface DumpCertificate {
  readonly identity: string;
  readonly state: string;
  readonly certChain: readonly DumpCert[];
  readonly rootCerts: readonly DumpCert[];
}

export interface DumpConnection {
  readonly src: string;
  readonly originalDst: string;
  readonly actualDst: string;
  readonly protocol: string;
}

export interface DumpWorkloadState {
  readonly name: string;
  readonly namespace: string;
  readonly inbound: readonly DumpConnection[];
  readonly outbound: readonly DumpConnection[];
}

export interface ZtunnelDumpView {
  readonly workloads: readonly DumpWorkload[];
  readonly services: readonly DumpService[];
  readonly policies: readonly DumpPolicy[];
  readonly certificates: readonly DumpCertificate[];
  readonly workloadState: readonly DumpWorkloadState[];
  /** Our dump's waypoint Gateways (absent from Istio's ztunnel dump): destination → `ns/name`. */
  readonly waypointNames: ReadonlyMap<string, string>;
}

type Obj = Readonly<Record<string, unknown>>;

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.map(str).filter((s) => s !== '') : [];
}

/** A list, or the values of a map (older ztunnel dumps keyed sections by uid or hostname). */
function items(v: unknown): Obj[] {
  if (Array.isArray(v)) return v.map(obj);
  return Object.values(obj(v)).map(obj);
}

function gateway(v: unknown): string | undefined {
  const d = str(obj(v)['destination']);
  return d === '' ? undefined : d;
}

function cert(v: unknown): DumpCert {
  const o = obj(v);
  return { serialNumber: str(o['serialNumber']), validFrom: str(o['validFrom']), expirationTime: str(o['expirationTime']) };
}

function connection(v: unknown): DumpConnection {
  const o = obj(v);
  return { src: str(o['src']), originalDst: str(o['originalDst']), actualDst: str(o['actualDst']), protocol: str(o['protocol']) };
}

export function readZtunnelDump(raw: unknown): ZtunnelDumpView {
  const root = obj(raw);
  // Go's encoding/json matches keys case-insensitively; istioctl declares `workloadstate`.
  const stateKey = Object.keys(root).find((k) => k.toLowerCase() === 'workloadstate');
  return {
    workloads: items(root['workloads']).map((w) => {
      const wp = gateway(w['waypoint']);
      return {
        uid: str(w['uid']),
        name: str(w['name']),
        namespace: str(w['namespace']),
        ips: strs(w['workloadIps']),
        node: str(w['node']),
        protocol: str(w['protocol']),
        status: str(w['status']),
        ...(wp ? { waypoint: wp } : {}),
      };
    }),
    services: items(root['services']).map((s) => {
      const wp = gateway(s['waypoint']);
      return {
        name: str(s['name']),
        namespace: str(s['namespace']),
        hostname: str(s['hostname']),
        vips: strs(s['vips']),
        ...(wp ? { waypoint: wp } : {}),
        weightedWaypoints: items(s['weightedWaypoints']).map((ww) => ({ destination: gateway(ww['destination']) ?? '', weight: Number(ww['weight']) || 0 })),
        endpointUids: items(s['endpoints']).map((e) => str(e['workloadUid'])),
      };
    }),
    policies: items(root['policies']).map((p) => ({ name: str(p['name']), namespace: str(p['namespace']), action: str(p['action']), scope: str(p['scope']) })),
    certificates: items(root['certificates']).map((c) => ({
      identity: str(c['identity']),
      state: str(c['state']),
      certChain: items(c['certChain']).map(cert),
      rootCerts: items(c['rootCerts']).map(cert),
    })),
    waypointNames: new Map(items(root['waypoints']).map((w) => [str(w['destination']), `${str(w['namespace'])}/${str(w['name'])}`])),
    workloadState: Object.values(obj(stateKey ? root[stateKey] : undefined)).map((v) => {
      const s = obj(v);
      const info = obj(s['info']);
      const c = obj(s['connections']);
      return {
        name: str(info['name']),
        namespace: str(info['namespace']),
        inbound: items(c['inbound']).map(connection),
        outbound: items(c['outbound']).map(connection),
      };
    }),
  };
}
