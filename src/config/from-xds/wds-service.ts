/** `istio.workload.Service` → a draft holding every field of the published schema. */
import type { AppProtocol } from '../ir.js';
import { readGatewayAddress, readNetworkAddressMessage } from './wds-gateway-address.js';
import type { WdsGatewayAddressDraft, WdsNetworkAddressDraft } from './wds-gateway-address.js';
import { readAppProtocol, readEnum, readEnumList, readExtensions } from './wds-fields.js';
import type { WdsExtensionDraft } from './wds-fields.js';
import type { XdsReader } from './xds-reader.js';

export type WdsLbScope = 'UNSPECIFIED_SCOPE' | 'REGION' | 'ZONE' | 'SUBZONE' | 'NODE' | 'CLUSTER' | 'NETWORK';

export interface WdsServiceDraft {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** Single addresses (no prefix length, or the full one): the VIPs. */
  readonly vips: readonly string[];
  /** Every address as sent, with its network and prefix length. */
  readonly addresses: readonly WdsNetworkAddressDraft[];
  readonly ports: readonly { readonly port: number; readonly targetPort: number; readonly appProtocol: AppProtocol }[];
  readonly subjectAltNames: readonly string[];
  readonly waypoint?: WdsGatewayAddressDraft;
  readonly loadBalancing?: {
    readonly routingPreference: readonly WdsLbScope[];
    readonly mode: 'UNSPECIFIED_MODE' | 'STRICT' | 'FAILOVER' | 'PASSTHROUGH';
    readonly healthPolicy: 'ONLY_HEALTHY' | 'ALLOW_ALL';
  };
  readonly ipFamilies: 'AUTOMATIC' | 'IPV4_ONLY' | 'IPV6_ONLY' | 'DUAL';
  readonly extensions: readonly WdsExtensionDraft[];
  readonly canonical: boolean;
  readonly ingressUseWaypoint: boolean;
  readonly weightedWaypoints: readonly { readonly destination: WdsGatewayAddressDraft; readonly weight: number }[];
  readonly visibility: 'PUBLIC' | 'NAMESPACE';
}

const LB_SCOPES = ['UNSPECIFIED_SCOPE', 'REGION', 'ZONE', 'SUBZONE', 'NODE', 'CLUSTER', 'NETWORK'] as const;

export function readWdsService(r: XdsReader): WdsServiceDraft {
  const name = r.requiredStr('name');
  const namespace = r.requiredStr('namespace');
  const ports = r.list('ports').map((p) => {
    const port = p.port('service_port');
    return { port, targetPort: p.num('target_port') || port, appProtocol: readAppProtocol(p) };
  });
  const addresses = r.list('addresses').map(readNetworkAddressMessage);
  const wp = r.optional('waypoint');
  const lb = r.optional('load_balancing');
  return {
    name,
    namespace,
    hostname: r.str('hostname') ?? '',
    vips: addresses.filter((a) => a.length === undefined || a.length === (a.ip.includes(':') ? 128 : 32)).map((a) => a.ip),
    addresses,
    ports,
    subjectAltNames: r.list('subject_alt_names').map((s) => (typeof s.value === 'string' ? s.value : s.fail('must be a string'))),
    ...(wp ? { waypoint: readGatewayAddress(wp) } : {}),
    ...(lb
      ? {
          loadBalancing: {
            routingPreference: readEnumList(lb, 'routing_preference', LB_SCOPES),
            mode: readEnum(lb, 'mode', ['UNSPECIFIED_MODE', 'STRICT', 'FAILOVER', 'PASSTHROUGH'] as const),
            healthPolicy: readEnum(lb, 'health_policy', ['ONLY_HEALTHY', 'ALLOW_ALL'] as const),
          },
        }
      : {}),
    ipFamilies: readEnum(r, 'ip_families', ['AUTOMATIC', 'IPV4_ONLY', 'IPV6_ONLY', 'DUAL'] as const),
    extensions: readExtensions(r),
    canonical: r.bool('canonical') ?? false,
    ingressUseWaypoint: r.bool('ingress_use_waypoint') ?? false,
    weightedWaypoints: r.list('weighted_waypoints').map((w) => ({ destination: readGatewayAddress(w.field('destination')), weight: w.num('weight') ?? 0 })),
    visibility: readEnum(r, 'visibility', ['PUBLIC', 'NAMESPACE'] as const),
  };
}
