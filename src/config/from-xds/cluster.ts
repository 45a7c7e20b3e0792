/**
 * `envoy.config.cluster.v3.Cluster` → a cluster draft: where its endpoints come from (EDS, or the
 * inline `load_assignment` of a STATIC cluster) and its load balancer. DNS clusters, health checks,
 * circuit breakers and outlier detection are not in this data plane's model for Envoy clusters yet
 * and are rejected by name rather than ignored.
 */
import type { LoadBalancerIR, StaticEndpointIR } from '../ir.js';
import { translateClusterLoadAssignment } from './cluster-load-assignment.js';
import type { XdsReader } from './xds-reader.js';

export interface ClusterDraft {
  readonly name: string;
  /** The ClusterLoadAssignment name to follow (EDS), or `undefined` for inline endpoints. */
  readonly edsName?: string;
  readonly inlineEndpoints?: readonly StaticEndpointIR[];
  readonly loadBalancer: LoadBalancerIR;
  readonly connectTimeoutMs?: number;
}

const LB: Readonly<Record<string, LoadBalancerIR>> = {
  ROUND_ROBIN: 'ROUND_ROBIN',
  LEAST_REQUEST: 'LEAST_REQUEST',
  RANDOM: 'RANDOM',
  CLUSTER_PROVIDED: 'PASSTHROUGH',
};

const REJECTED = ['health_checks', 'circuit_breakers', 'outlier_detection', 'lb_subset_config', 'ring_hash_lb_config', 'maglev_lb_config', 'load_balancing_policy'];

export function translateCluster(r: XdsReader): ClusterDraft {
  const name = r.requiredStr('name');
  for (const k of REJECTED) if (r.has(k)) r.fail(`is not supported for Envoy clusters yet`, [k]);
  const type = r.str('type') ?? 'STATIC';
  if (r.has('cluster_type')) r.fail('custom cluster types are not supported', ['cluster_type']);
  const lbName = r.str('lb_policy') ?? 'ROUND_ROBIN';
  const loadBalancer = LB[lbName] ?? r.fail(`lb_policy ${lbName} is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM)`, ['lb_policy']);
  const connectTimeoutMs = r.durationMs('connect_timeout');
  const base = { name, loadBalancer, ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}) };
  switch (type) {
    case 'EDS': {
      const edsName = r.optional('eds_cluster_config')?.str('service_name') || name;
      return { ...base, edsName };
    }
    case 'STATIC': {
      const la = r.optional('load_assignment');
      return { ...base, inlineEndpoints: la ? translateClusterLoadAssignment(la, true).endpoints : [] };
    }
    default:
      return r.fail(`cluster type ${type} is not supported (STATIC, EDS)`, ['type']);
  }
}
