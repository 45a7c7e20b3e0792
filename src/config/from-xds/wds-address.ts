/**
 * `istio.workload.Address` (a Workload or a Service, Istio's WDS) → drafts. Cross-resource joins
 * (which workloads back which Service, which waypoint a Service uses) are done by
 * `workload-config.ts`; here each resource is checked on its own, so a bad one can be NACKed.
 *
 * Every field of the published schema (`proto/istio/workload/workload.proto`) is read into the
 * draft, used by the data path or not, so nothing istiod says is lost silently. An enum value this
 * schema does not know rejects the resource, as ztunnel rejects it (`EnumParse`).
 */
import type { AppProtocol } from '../ir.js';
import { ipFromBytes, readGatewayAddress } from './wds-gateway-address.js';
import type { WdsGatewayAddressDraft } from './wds-gateway-address.js';
import { readWdsService } from './wds-service.js';
import type { WdsServiceDraft } from './wds-service.js';
import { readAppProtocol, readEnum, readExtensions } from './wds-fields.js';
import type { WdsExtensionDraft } from './wds-fields.js';
import type { XdsReader } from './xds-reader.js';

export { ipFromBytes } from './wds-gateway-address.js';
export type { WdsGatewayAddressDraft, WdsNetworkAddressDraft } from './wds-gateway-address.js';
export type { WdsServiceDraft } from './wds-service.js';

/** Kept under its old name: the waypoint of a Workload or Service is a GatewayAddress. */
export type WdsWaypointDraft = WdsGatewayAddressDraft;

export type WdsTunnelProtocol = 'NONE' | 'HBONE' | 'LEGACY_ISTIO_MTLS';

/** One port of a `services` entry: service port → target port (0 = the Service's own) and protocol. */
export interface WdsWorkloadPortDraft {
  readonly targetPort: number;
  readonly appProtocol: AppProtocol;
}

export interface WdsWorkloadDraft {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** The first address; absent for a workload reached only through its network gateway. */
  readonly ip?: string;
  readonly addresses: readonly string[];
  readonly hostname?: string;
  readonly network: string;
  readonly tunnelProtocol: WdsTunnelProtocol;
  /** `tunnel_protocol == HBONE`. */
  readonly hbone: boolean;
  readonly node: string;
  readonly serviceAccount: string;
  readonly trustDomain?: string;
  readonly healthy: boolean;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadType: 'DEPLOYMENT' | 'CRONJOB' | 'POD' | 'JOB';
  readonly workloadName: string;
  readonly nativeTunnel: boolean;
  readonly applicationTunnel?: { readonly protocol: 'NONE' | 'PROXY'; readonly port: number };
  readonly authorizationPolicies: readonly string[];
  readonly clusterId: string;
  readonly locality?: { readonly region: string; readonly zone: string; readonly subzone: string };
  readonly networkMode: 'STANDARD' | 'HOST_NETWORK';
  /** Relative load-balancing weight (`capacity`, default 1). */
  readonly capacity: number;
  readonly extensions: readonly WdsExtensionDraft[];
  /** `namespace/hostname` → service port → target port and protocol. */
  readonly services: ReadonlyMap<string, ReadonlyMap<number, WdsWorkloadPortDraft>>;
  readonly waypoint?: WdsGatewayAddressDraft;
  /** The gateway to reach this workload through from another network. */
  readonly networkGateway?: WdsGatewayAddressDraft;
}

export type WdsAddressDraft = { readonly kind: 'workload'; readonly workload: WdsWorkloadDraft } | { readonly kind: 'service'; readonly service: WdsServiceDraft };

export function translateWdsAddress(r: XdsReader): WdsAddressDraft {
  const w = r.optional('workload');
  if (w) return { kind: 'workload', workload: readWorkload(w) };
  const s = r.optional('service');
  if (s) return { kind: 'service', service: readWdsService(s) };
  return r.fail('an Address needs a workload or a service');
}

function readWorkload(r: XdsReader): WdsWorkloadDraft {
  const uid = r.requiredStr('uid');
  const namespace = r.requiredStr('namespace');
  const addresses = r.list('addresses').map((a) => ipFromBytes(a, a.value));
  const networkGatewayReader = r.optional('network_gateway');
  const networkGateway = networkGatewayReader ? readGatewayAddress(networkGatewayReader) : undefined;
  const hostname = r.str('hostname') || undefined;
  // As ztunnel: a workload is reached at an address, by hostname, or through its network gateway.
  if (addresses.length === 0 && !networkGateway && !hostname) r.fail('a workload needs an address, a hostname or a network gateway', ['addresses']);
  const services = new Map<string, Map<number, WdsWorkloadPortDraft>>();
  for (const [key, list] of r.entries('services')) {
    if (!/^[^/]+\/[^/]+$/.test(key)) list.fail('a services key is "namespace/hostname"');
    const ports = new Map<number, WdsWorkloadPortDraft>();
    for (const p of list.list('ports')) {
      ports.set(p.port('service_port'), { targetPort: p.num('target_port') ?? 0, appProtocol: readAppProtocol(p) });
    }
    services.set(key, ports);
  }
  const name = r.str('name') || uid;
  const wp = r.optional('waypoint');
  const trustDomain = r.str('trust_domain');
  const tunnelProtocol = readEnum(r, 'tunnel_protocol', ['NONE', 'HBONE', 'LEGACY_ISTIO_MTLS'] as const);
  const at = r.optional('application_tunnel');
  const loc = r.optional('locality');
  return {
    uid,
    name,
    namespace,
    ...(addresses[0] ? { ip: addresses[0] } : {}),
    addresses,
    ...(hostname ? { hostname } : {}),
    network: r.str('network') ?? '',
    tunnelProtocol,
    hbone: tunnelProtocol === 'HBONE',
    node: r.str('node') ?? '',
    serviceAccount: r.str('service_account') || 'default',
    ...(trustDomain ? { trustDomain } : {}),
    healthy: readEnum(r, 'status', ['HEALTHY', 'UNHEALTHY'] as const) === 'HEALTHY',
    canonicalName: r.str('canonical_name') || name,
    canonicalRevision: r.str('canonical_revision') || 'latest',
    workloadType: readEnum(r, 'workload_type', ['DEPLOYMENT', 'CRONJOB', 'POD', 'JOB'] as const),
    workloadName: r.str('workload_name') || name,
    nativeTunnel: r.bool('native_tunnel') ?? false,
    ...(at ? { applicationTunnel: { protocol: readEnum(at, 'protocol', ['NONE', 'PROXY'] as const), port: at.num('port') ?? 0 } } : {}),
    authorizationPolicies: r.list('authorization_policies').map((p) => (typeof p.value === 'string' ? p.value : p.fail('must be a string'))),
    clusterId: r.str('cluster_id') ?? '',
    ...(loc ? { locality: { region: loc.str('region') ?? '', zone: loc.str('zone') ?? '', subzone: loc.str('subzone') ?? '' } } : {}),
    networkMode: readEnum(r, 'network_mode', ['STANDARD', 'HOST_NETWORK'] as const),
    capacity: r.num('capacity') ?? 1,
    extensions: readExtensions(r),
    services,
    ...(wp ? { waypoint: readGatewayAddress(wp) } : {}),
    ...(networkGateway ? { networkGateway } : {}),
  };
}
