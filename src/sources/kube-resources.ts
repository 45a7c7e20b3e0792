/**
 * The Kubernetes collections the Kubernetes source lists and watches, each with the apiVersion and
 * kind its items are translated as (list items carry neither). Pods carry the IPs, nodes and
 * service accounts the workload translator needs, so EndpointSlices are not read.
 */
export interface KubeResource {
  readonly apiVersion: string;
  readonly kind: string;
  /** Collection path, cluster-wide (`/api/v1/pods`). */
  readonly path: string;
  /** Extra list/watch parameters (a field selector for a single object). */
  readonly query?: Readonly<Record<string, string>>;
}

const core = (kind: string, plural: string): KubeResource => ({ apiVersion: 'v1', kind, path: `/api/v1/${plural}` });
const group = (apiVersion: string, kind: string, plural: string): KubeResource => ({ apiVersion, kind, path: `/apis/${apiVersion}/${plural}` });

export const KUBE_RESOURCES: readonly KubeResource[] = [
  core('Namespace', 'namespaces'),
  core('Service', 'services'),
  core('Pod', 'pods'),
  core('ServiceAccount', 'serviceaccounts'),
  // Mesh-wide settings (trust domain...) live in one ConfigMap, as istiod reads them.
  { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/namespaces/istio-system/configmaps', query: { fieldSelector: 'metadata.name=istio' } },
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
];

/** `path?query` for a list, or a watch from `resourceVersion`. */
export function resourceUrl(r: KubeResource, extra: Readonly<Record<string, string>> = {}): string {
  const q = new URLSearchParams({ ...r.query, ...extra }).toString();
  return q === '' ? r.path : `${r.path}?${q}`;
}
