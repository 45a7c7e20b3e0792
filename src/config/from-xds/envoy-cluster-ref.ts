/**
 * How an Envoy cluster appears in the IR: as a Service of its own (no VIP, no waypoint), in a
 * namespace no Kubernetes object can have, whose endpoints are the cluster's addresses. Routes
 * name it as a backend; nothing else can reach it.
 */
import type { ServiceRefIR } from '../ir-routes.js';

/** Not a valid Kubernetes namespace name, so a cluster can never collide with a real Service. */
export const ENVOY_CLUSTER_NAMESPACE = '~envoy';

/**
 * The cluster's service port: the port of an Istio-style name (`outbound|9080||host`,
 * `inbound-vip|9080|http|host`), else 80. Only a key: each endpoint carries its own port.
 */
export function clusterPort(cluster: string): number {
  const parts = cluster.split('|');
  const n = parts.length === 4 ? Number(parts[1]) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : 80;
}

export function clusterRef(cluster: string): ServiceRefIR {
  return { namespace: ENVOY_CLUSTER_NAMESPACE, name: cluster, port: clusterPort(cluster) };
}
