/**
 * The same routing intent written twice: as an HTTPRoute and as Envoy v3 resources (what istiod
 * would send a waypoint), with the default mesh's addresses (relocated per test file). Tests run
 * both through the real waypoint and compare what the backends saw and what the client got.
 */
import { REVIEWS_VERSION_SERVICES_YAML } from './mesh-fixtures.js';

export { REVIEWS_VERSION_SERVICES_YAML };

export const INTENT_HTTPROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /canary}, headers: [{name: x-canary, value: "yes"}]}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {set: [{name: x-route, value: canary}], remove: [x-drop]}
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: x-served-by, value: canary}]}
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: Exact, value: /exact}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2/api}}
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 302}
    - matches: [{path: {type: PathPrefix, value: /}}]
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: x-served-by, value: stable}]}
      backendRefs: [{name: reviews-v1, port: 9080}]
`;

const V1 = 'outbound|9080||reviews-v1.default.svc.cluster.local';
const V2 = 'outbound|9080||reviews-v2.default.svc.cluster.local';

/** The RouteConfiguration istiod-style: one virtual host for the reviews Service. */
export function reviewsRouteConfiguration(name = 'reviews-routes', canaryCluster = V2): Record<string, unknown> {
  return {
    name,
    virtual_hosts: [
      {
        name: 'reviews',
        domains: ['reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080', 'reviews', '127.100.0.10:9080'],
        routes: [
          {
            name: 'canary',
            match: { prefix: '/canary', headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }] },
            route: { cluster: canaryCluster },
            request_headers_to_add: [{ header: { key: 'x-route', value: 'canary' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
            request_headers_to_remove: ['x-drop'],
            response_headers_to_add: [{ header: { key: 'x-served-by', value: 'canary' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
          },
          { match: { path: '/exact' }, route: { cluster: V2 } },
          { match: { path_separated_prefix: '/api' }, route: { cluster: V1, prefix_rewrite: '/v2/api' } },
          { match: { prefix: '/old' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
          {
            match: { prefix: '/' },
            route: { cluster: V1 },
            response_headers_to_add: [{ header: { key: 'x-served-by', value: 'stable' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
          },
        ],
      },
    ],
  };
}

export function eds(name: string, ips: readonly string[], port = 9080): Record<string, unknown> {
  return { cluster_name: name, endpoints: [{ lb_endpoints: ips.map((ip) => ({ endpoint: { address: { socket_address: { address: ip, port_value: port } } } })) }] };
}

export function edsCluster(name: string): Record<string, unknown> {
  return { name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 }, lb_policy: 'ROUND_ROBIN' };
}

export const ROUTER_FILTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export function waypointListener(httpFilters: readonly unknown[] = [ROUTER_FILTER], rds = 'reviews-routes'): Record<string, unknown> {
  return {
    name: 'waypoint-http',
    address: { socket_address: { address: '0.0.0.0', port_value: 15008 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'waypoint',
              rds: { route_config_name: rds, config_source: { ads: {} } },
              http_filters: httpFilters,
            },
          },
        ],
      },
    ],
  };
}

export const CLUSTER_V1 = V1;
export const CLUSTER_V2 = V2;

/** The same intent as an Envoy bootstrap: inline route config, STATIC clusters with pod addresses. */
export function intentBootstrap(): Record<string, unknown> {
  const hcmListener = waypointListener();
  const chain = (hcmListener['filter_chains'] as Record<string, unknown>[])[0]!;
  const hcm = ((chain['filters'] as Record<string, unknown>[])[0]!['typed_config']) as Record<string, unknown>;
  delete hcm['rds'];
  hcm['route_config'] = reviewsRouteConfiguration();
  const staticCluster = (name: string, ip: string): Record<string, unknown> => ({ name, type: 'STATIC', connect_timeout: '1s', load_assignment: eds(name, [ip]) });
  return {
    node: { id: 'waypoint~127.2.0.1~waypoint.default~default.svc.cluster.local', cluster: 'waypoint.default' },
    static_resources: {
      listeners: [hcmListener],
      clusters: [staticCluster(V1, '127.1.0.11'), staticCluster(V2, '127.1.0.12')],
    },
  };
}
