/**
 * `envoy.config.endpoint.v3.ClusterLoadAssignment` → the cluster's endpoint addresses. Endpoints
 * Envoy would not send to (`UNHEALTHY`, `DRAINING`, `TIMEOUT`) are left out; localities are
 * flattened (no locality-weighted balancing here).
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { StaticEndpointIR } from '../ir.js';
import type { XdsReader } from './xds-reader.js';

export interface ClusterLoadAssignmentDraft {
  readonly clusterName: string;
  readonly endpoints: readonly StaticEndpointIR[];
}

const SKIPPED_HEALTH = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

export function translateClusterLoadAssignment(r: XdsReader, inline = false): ClusterLoadAssignmentDraft {
  const clusterName = inline ? (r.str('cluster_name') ?? '') : r.requiredStr('cluster_name');
  r.onlyKnown(['cluster_name', 'endpoints', 'policy', 'named_endpoints'], 'ClusterLoadAssignment');
  const endpoints: StaticEndpointIR[] = [];
  for (const locality of r.list('endpoints')) {
    for (const lb of locality.list('lb_endpoints')) {
      if (SKIPPED_HEALTH.has(lb.str('health_status') ?? '')) continue;
      const ep = lb.optional('endpoint') ?? lb.fail('endpoint is required (named endpoints are not supported)');
      const sa: XdsReader = ep.field('address').optional('socket_address') ?? ep.fail('only socket addresses are supported', ['address']);
      const ip = sa.requiredStr('address');
      if (isIP(ip) === 0) sa.fail(`"${ip}" is not an IP address (resolver names are not supported)`, ['address']);
      const port = sa.num('port_value');
      if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) sa.fail('must be a port in [1, 65535]', ['port_value']);
      endpoints.push({ ip, port });
    }
  }
  return { clusterName, endpoints };
}
