/**
 * An {@link EnvoyResourceSet} → IR objects, the join Envoy itself does: listeners pick route
 * configurations (RDS or inline) and HTTP filters, routes name clusters, EDS clusters take their
 * ClusterLoadAssignment. Output is the same `TranslatedObject` list the YAML translators produce,
 * so the snapshot builder and the data path cannot tell the sources apart:
 * - each cluster → a Service in {@link ENVOY_CLUSTER_NAMESPACE} with its endpoint addresses, and
 *   a DestinationRule carrying its load balancer and connect timeout;
 * - each virtual host of an active route configuration → an HttpRoute on the Services it names;
 * - an `rbac` HTTP filter → an L7 policy on the waypoint these resources configure.
 * A route naming a cluster that does not exist answers 500 (the IR's missing backend), and a
 * listener whose RDS has not arrived yet serves nothing new (Envoy's warming).
 */
import type { WaypointRef } from '../ir.js';
import type { HttpRouteIR, RouteRuleIR } from '../ir-routes.js';
import type { ObjectRef, TranslatedObject, TranslatedValue } from '../from-k8s/translator.js';
import { objectRefKey } from '../from-k8s/translator.js';
import { clusterPort, ENVOY_CLUSTER_NAMESPACE } from './envoy-cluster-ref.js';
import type { EnvoyResourceSet } from './envoy-resources.js';
import type { HttpFiltersDraft } from './listener.js';
import type { RouteConfigurationDraft } from './route-configuration.js';

export interface EnvoyConfigTarget {
  /** The waypoint these resources configure (RBAC policies attach to it). */
  readonly waypoint: WaypointRef;
  /** Origin prefix for diagnostics and admin dumps: a file path or `xds://host:port`. */
  readonly source: string;
}

export function assembleEnvoyConfig(set: EnvoyResourceSet, target: EnvoyConfigTarget): TranslatedObject[] {
  const out: TranslatedObject[] = [];
  const emit = (kind: string, namespace: string, name: string, value: TranslatedValue): void => {
    const ref: ObjectRef = {
      key: objectRefKey(kind, namespace, name),
      kind,
      namespace,
      name,
      origin: { source: `${target.source}#${kind}/${name}`, line: 0 },
      lineOf: () => undefined,
    };
    out.push({ ...value, ref });
  };

  for (const c of set.clusters.values()) {
    const origin = { source: `${target.source}#Cluster/${c.name}` };
    const port = clusterPort(c.name);
    const staticEndpoints = c.inlineEndpoints ?? (c.edsName !== undefined ? (set.endpoints.get(c.edsName)?.endpoints ?? []) : []);
    emit('EnvoyCluster', ENVOY_CLUSTER_NAMESPACE, c.name, {
      type: 'Service',
      value: { name: c.name, namespace: ENVOY_CLUSTER_NAMESPACE, vips: [], ports: [{ port, targetPort: port, appProtocol: 'http' }], labels: {}, staticEndpoints, origin },
    });
    emit('EnvoyClusterPolicy', ENVOY_CLUSTER_NAMESPACE, c.name, {
      type: 'DestinationRule',
      value: {
        name: c.name,
        namespace: ENVOY_CLUSTER_NAMESPACE,
        service: { namespace: ENVOY_CLUSTER_NAMESPACE, name: c.name },
        subsets: [],
        loadBalancer: c.loadBalancer,
        ...(c.connectTimeoutMs !== undefined ? { connectionPool: { tcp: { connectTimeoutMs: c.connectTimeoutMs } } } : {}),
        origin,
      },
    });
  }

  const done = new Set<string>();
  for (const l of set.listeners.values()) {
    l.connectionManagers.forEach((cm, i) => {
      const rc = cm.inlineRoutes ?? (cm.rdsName !== undefined ? set.routes.get(cm.rdsName) : undefined);
      if (rc && !done.has(rc.name)) {
        done.add(rc.name);
        for (const route of routesOf(rc, cm.filters, `${target.source}#RouteConfiguration/${rc.name}`)) emit('EnvoyRoute', route.namespace, route.name, { type: 'HttpRoute', value: route });
      }
      if (cm.filters.rbac) {
        const name = `${l.name}.${i}.rbac`;
        const { namespace, name: wpName } = target.waypoint;
        emit('EnvoyRbac', namespace, name, {
          type: 'L7Policy',
          value: {
            name,
            namespace,
            targets: [{ kind: 'Gateway', namespace, name: wpName }],
            action: cm.filters.rbac.action,
            rules: cm.filters.rbac.rules,
            dryRun: false,
            origin: { source: `${target.source}#Listener/${l.name}` },
          },
        });
      }
    });
  }
  return out;
}

function routesOf(rc: RouteConfigurationDraft, filters: HttpFiltersDraft, source: string): HttpRouteIR[] {
  return rc.virtualHosts.map((vh) => ({
    source: 'VirtualService',
    name: `${rc.name}.${vh.name}`,
    namespace: vh.parents[0]?.namespace ?? 'default',
    createdAt: 0,
    parents: vh.parents,
    hostnames: [],
    rules: vh.rules.map((rule) => withFilters(rule, filters)),
    origin: { source },
  }));
}

/** Per-route fault and CORS take effect only when their HTTP filter is in the chain, as in Envoy. */
function withFilters(rule: RouteRuleIR, filters: HttpFiltersDraft): RouteRuleIR {
  const { fault, ...rest } = rule;
  const effectiveFault = filters.fault ? (fault ?? filters.fault.defaults) : undefined;
  return {
    ...rest,
    filters: filters.cors ? rule.filters : rule.filters.filter((f) => f.kind !== 'cors'),
    ...(effectiveFault ? { fault: effectiveFault } : {}),
  };
}
