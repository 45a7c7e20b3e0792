/**
 * The load balancer a DestinationRule policy (top-level or subset) gives one service port: its
 * `portLevelSettings` entry for the port when that sets a `loadBalancer`, else the policy's own —
 * Istio's per-port override, where `simple` and `consistentHash` are one setting.
 */
import type { ConsistentHashIR, LoadBalancerIR, PortTrafficPolicyIR } from '../config/ir-routes.js';

export interface LoadBalancerChoice {
  readonly loadBalancer?: LoadBalancerIR;
  readonly consistentHash?: ConsistentHashIR;
}

interface PolicyWithPorts extends LoadBalancerChoice {
  readonly portLevelSettings?: readonly PortTrafficPolicyIR[];
}

/** `undefined` when neither the port's settings nor the policy set a load balancer. */
export function loadBalancerForPort(policy: PolicyWithPorts | undefined, port: number): LoadBalancerChoice | undefined {
  if (!policy) return undefined;
  const p = policy.portLevelSettings?.find((s) => s.port === port);
  if (p && (p.loadBalancer || p.consistentHash)) return p;
  if (policy.loadBalancer || policy.consistentHash) return policy;
  return undefined;
}
