/**
 * The Kubernetes collections the Kubernetes source lists and watches, each with the apiVersion and
 * kind its items are translated as (list items carry neither). Pods carry the IPs, nodes and
 * service accounts the workload translator needs; EndpointSlices add the endpoints of Services
 * without a selector (src/config/from-k8s/endpoint-slice.ts).
 *
 * Scope: cluster-wide by default (the ztunnel, a node agent, needs every pod). A waypoint needs only
 * the namespaces it serves plus the root namespace (mesh-wide policies, Telemetry, WasmPlugins), so
 * {@link scopedResources} watches each namespaced kind per namespace
 * (`/api/v1/namespaces/<ns>/pods`); Namespaces (cluster-scoped: their labels enroll Services) and
 * the mesh ConfigMap stay as they are.
 */
export interface KubeResource {
  readonly apiVersion: string;
  readonly kind: string;
  /** Collection path (`/api/v1/pods`, or `/api/v1/namespaces/default/pods` when scoped). */
  readonly path: string;
  /** Extra list/watch parameters (a field selector for a single object). */
  readonly query?: Readonly<Record<string, string>>;
}

interface KindDef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const core = (kind: string, plural: string, namespaced = true): KindDef => ({ apiVersion: 'v1', kind, plural, namespaced });
const group = (apiVersion: string, kind: string, plural: string): KindDef => ({ apiVersion, kind, plural, namespaced: true });

const KINDS: readonly KindDef[] = [
  core('Namespace', 'namespaces', false),
  core('Service', 'services'),
  core('Pod', 'pods'),
  core('ServiceAccount', 'serviceaccounts'),
  group('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices'),
  group('gateway.networking.k8s.io/v1', 'Gateway', 'gateways'),
  group('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes'),
  group('gateway.networking.k8s.io/v1', 'GRPCRoute', 'grpcroutes'),
  group('networking.istio.io/v1', 'VirtualService', 'virtualservices'),
  group('networking.istio.io/v1', 'DestinationRule', 'destinationrules'),
  group('security.istio.io/v1', 'AuthorizationPolicy', 'authorizationpolicies'),
  group('security.istio.io/v1', 'RequestAuthentication', 'requestauthentications'),
  group('security.istio.io/v1', 'PeerAuthentication', 'peerauthentications'),
  group('telemetry.istio.io/v1', 'Telemetry', 'telemetries'),
  group('extensions.istio.io/v1alpha1', 'WasmPlugin', 'wasmplugins'),
  group('extensions.istio.io/v1alpha1', 'TrafficExtension', 'trafficextensions'),
];

const prefix = (d: KindDef): string => (d.apiVersion === 'v1' ? '/api/v1' : `/apis/${d.apiVersion}`);

// Mesh-wide settings (trust domain...) live in one ConfigMap, as istiod reads them.
const MESH_CONFIG: KubeResource = { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/namespaces/istio-system/configmaps', query: { fieldSelector: 'metadata.name=istio' } };

/** Every collection, cluster-wide. */
export const KUBE_RESOURCES: readonly KubeResource[] = [
  ...KINDS.map((d) => ({ apiVersion: d.apiVersion, kind: d.kind, path: `${prefix(d)}/${d.plural}` })),
  MESH_CONFIG,
];

/** The collections limited to `namespaces` (deduplicated); cluster-scoped kinds stay whole. */
export function scopedResources(namespaces: readonly string[]): KubeResource[] {
  const nss = [...new Set(namespaces)];
  return [
    ...KINDS.flatMap((d) =>
      d.namespaced ? nss.map((ns) => ({ apiVersion: d.apiVersion, kind: d.kind, path: `${prefix(d)}/namespaces/${ns}/${d.plural}` })) : [{ apiVersion: d.apiVersion, kind: d.kind, path: `${prefix(d)}/${d.plural}` }],
    ),
    MESH_CONFIG,
  ];
}

/** `path?query` for a list, or a watch from `resourceVersion`. */
export function resourceUrl(r: KubeResource, extra: Readonly<Record<string, string>> = {}): string {
  const q = new URLSearchParams({ ...r.query, ...extra }).toString();
  return q === '' ? r.path : `${r.path}?${q}`;
}
