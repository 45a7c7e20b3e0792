/**
 * `istio.workload.Address` (a Workload or a Service, Istio's WDS) → drafts. Cross-resource joins
 * (which workloads back which Service, which waypoint a Service uses) are done by
 * `workload-config.ts`; here each resource is checked on its own, so a bad one can be NACKed.
 */
import type { XdsReader } from './xds-reader.js';

export interface WdsWaypointDraft {
  /** `hostname` form: the waypoint's Service (`name.namespace.svc...`). */
  readonly hostname?: { readonly namespace: string; readonly hostname: string };
  /** `address` form: the waypoint's IP. */
  readonly address?: string;
  readonly hbonePort: number;
}

export interface WdsWorkloadDraft {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  readonly node: string;
  readonly serviceAccount: string;
  readonly trustDomain?: string;
  readonly hbone: boolean;
  readonly healthy: boolean;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadName: string;
  readonly authorizationPolicies: readonly string[];
  /** `namespace/hostname` → service port → target port (0 = the Service's own target port). */
  readonly services: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly waypoint?: WdsWaypointDraft;
}

export interface WdsServiceDraft {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly string[];
  readonly ports: readonly { readonly port: number; readonly targetPort: number }[];
  readonly waypoint?: WdsWaypointDraft;
}

export type WdsAddressDraft = { readonly kind: 'workload'; readonly workload: WdsWorkloadDraft } | { readonly kind: 'service'; readonly service: WdsServiceDraft };

export function translateWdsAddress(r: XdsReader): WdsAddressDraft {
  const w = r.optional('workload');
  if (w) return { kind: 'workload', workload: readWorkload(w) };
  const s = r.optional('service');
  if (s) return { kind: 'service', service: readService(s) };
  return r.fail('an Address needs a workload or a service');
}

/** Bytes arrive base64-encoded (decoded protobuf) and must be 4 or 16 long. */
export function ipFromBytes(r: XdsReader, b64: unknown): string {
  if (typeof b64 !== 'string') r.fail('must be bytes');
  const buf = Buffer.from(b64, 'base64');
  if (buf.length === 4) return [...buf].join('.');
  if (buf.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(i).toString(16));
    return parts.join(':').replace(/\b(?:0:){2,}/, ':');
  }
  return r.fail(`an IP address is 4 or 16 bytes, got ${buf.length}`);
}

function readWaypoint(r: XdsReader): WdsWaypointDraft {
  const hbonePort = r.num('hbone_mtls_port') || 15008;
  const h = r.optional('hostname');
  if (h) return { hostname: { namespace: h.requiredStr('namespace'), hostname: h.requiredStr('hostname') }, hbonePort };
  const a = r.optional('address');
  if (a) return { address: ipFromBytes(a.field('address'), a.field('address').value), hbonePort };
  return r.fail('a GatewayAddress needs a hostname or an address');
}

function readWorkload(r: XdsReader): WdsWorkloadDraft {
  const uid = r.requiredStr('uid');
  const namespace = r.requiredStr('namespace');
  const addresses = r.list('addresses');
  if (addresses.length === 0) r.fail('at least one address is required (network gateways are not supported)', ['addresses']);
  const ip = ipFromBytes(addresses[0]!, addresses[0]!.value);
  const services = new Map<string, Map<number, number>>();
  for (const [key, list] of r.entries('services')) {
    if (!/^[^/]+\/[^/]+$/.test(key)) list.fail('a services key is "namespace/hostname"');
    const ports = new Map<number, number>();
    for (const p of list.list('ports')) {
      ports.set(p.port('service_port'), p.num('target_port') ?? 0);
    }
    services.set(key, ports);
  }
  const name = r.str('name') || uid;
  const wp = r.optional('waypoint');
  const trustDomain = r.str('trust_domain');
  return {
    uid,
    name,
    namespace,
    ip,
    node: r.str('node') ?? '',
    serviceAccount: r.str('service_account') || 'default',
    ...(trustDomain ? { trustDomain } : {}),
    hbone: (r.str('tunnel_protocol') ?? 'NONE') === 'HBONE',
    healthy: (r.str('status') ?? 'HEALTHY') === 'HEALTHY',
    canonicalName: r.str('canonical_name') || name,
    canonicalRevision: r.str('canonical_revision') || 'latest',
    workloadName: r.str('workload_name') || name,
    authorizationPolicies: r.list('authorization_policies').map((p) => (typeof p.value === 'string' ? p.value : p.fail('must be a string'))),
    services,
    ...(wp ? { waypoint: readWaypoint(wp) } : {}),
  };
}

function readService(r: XdsReader): WdsServiceDraft {
  const name = r.requiredStr('name');
  const namespace = r.requiredStr('namespace');
  const ports = r.list('ports').map((p) => {
    const port = p.port('service_port');
    return { port, targetPort: p.num('target_port') || port };
  });
  const wp = r.optional('waypoint');
  return {
    name,
    namespace,
    hostname: r.str('hostname') ?? '',
    vips: r.list('addresses').map((a) => ipFromBytes(a.field('address'), a.field('address').value)),
    ports,
    ...(wp ? { waypoint: readWaypoint(wp) } : {}),
  };
}
