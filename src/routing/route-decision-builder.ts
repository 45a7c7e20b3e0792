/**
 * One route entry (a route's rule and one of its matches) → the {@link RouteDecision} the proxy
 * consumes: backends resolved to Service ports and endpoints (DestinationRule subsets applied),
 * filters turned into header mutations, a responder (redirect, direct response, the spec's 500),
 * a rewriter and mirrors. Built once per snapshot; shared by every request that matches.
 */
import type {
  BackendRefIR,
  DestinationRuleIR,
  HeaderMutationIR,
  HttpRouteIR,
  RouteFilterIR,
  RouteMatchIR,
  RouteRuleIR,
} from '../config/ir-routes.js';
import { objectKey } from '../config/ir.js';
import type { LocalReply, RequestContext } from '../filter/api.js';
import type { Endpoint, MeshView, ServiceTarget } from '../state/mesh-view.js';
import { labelsMatch } from '../state/mesh-view.js';
import { waypointClusterName } from '../telemetry/access-record.js';
import type { HeaderMutation, RouteBackend, RouteDecision, RouteResponder } from '../waypoint/router.js';
import type { CorsPolicy } from '../../filters/cors/cors-filter.js';
import { compileCorsPolicy } from './cors-policy.js';
import { pickerFor } from './endpoint-picker.js';
import { loadBalancerForPort } from './load-balancer-for-port.js';
import { Redirector, RequestRewriter } from './path-rewrite.js';
import { backendResilienceOf, faultPolicyOf, retryPolicyOf } from './route-resilience.js';
import type { MirrorDeps, MirrorTarget } from './request-mirror.js';
import { RequestMirror } from './request-mirror.js';

/** The spec's answer for a rule with no usable backend (and nothing else that would answer). */
export const NO_BACKEND_REPLY: LocalReply = Object.freeze({ status: 500, details: 'direct_response' });
/** A subset no DestinationRule defines: Envoy has no such cluster (503 `NC`). */
export const NO_CLUSTER_REPLY: LocalReply = Object.freeze({ status: 503, body: 'no cluster', responseFlag: 'NC', details: 'cluster_not_found' });

export interface BuildContext {
  readonly view: MeshView;
  readonly target: ServiceTarget;
  readonly destinationRules: ReadonlyMap<string, DestinationRuleIR>;
  readonly mirror: MirrorDeps | undefined;
  /** For RANDOM load balancing. */
  readonly random: () => number;
}

class FixedResponder implements RouteResponder {
  constructor(private readonly r: LocalReply) {}
  reply(_ctx: RequestContext): LocalReply {
    return this.r;
  }
}

export function buildDecision(bc: BuildContext, route: HttpRouteIR, rule: RouteRuleIR, ruleIndex: number, match: RouteMatchIR, matchIndex: number): RouteDecision {
  const name = rule.name !== undefined ? `${route.namespace}.${route.name}.${rule.name}` : `${route.namespace}.${route.name}.${ruleIndex}.${matchIndex}`;
  const requestHeaders = mergeMutations(rule.filters, 'requestHeaders');
  const responseHeaders = mergeMutations(rule.filters, 'responseHeaders');
  let respond: RouteResponder | undefined;
  let rewriter: RequestRewriter | undefined;
  const mirrors: MirrorTarget[] = [];
  let cors: CorsPolicy | undefined;
  for (const f of rule.filters) {
    switch (f.kind) {
      case 'redirect':
        respond ??= new Redirector(f.redirect, match.path);
        break;
      case 'directResponse':
        respond ??= new FixedResponder(Object.freeze({ status: f.status, body: f.body, details: 'direct_response' }));
        break;
      case 'rewrite':
        rewriter ??= new RequestRewriter(f.rewrite, match.path);
        break;
      case 'mirror': {
        const t = resolveTarget(bc, f.target);
        if (t) mirrors.push({ endpoints: t.endpoints, percent: f.percent });
        break;
      }
      case 'cors':
        cors ??= compileCorsPolicy(f.cors);
        break;
      case 'requestHeaders':
      case 'responseHeaders':
        break;
    }
  }
  const fault = faultPolicyOf(rule);
  const backends = rule.backends.filter((b) => b.weight > 0).map((b) => resolveBackend(bc, b));
  const totalWeight = backends.reduce((s, b) => s + b.weight, 0);
  if (!respond && totalWeight === 0) respond = new FixedResponder(NO_BACKEND_REPLY);
  return Object.freeze({
    name,
    ...(route.source === 'HTTPRoute' ? { httpRoute: `${route.namespace}/${route.name}` } : {}),
    backends: Object.freeze(backends),
    totalWeight,
    timeoutMs: rule.timeoutMs ?? 0,
    retry: retryPolicyOf(rule, bc.view.snapshot.mesh.defaultHttpRetry),
    ...(requestHeaders ? { requestHeaders } : {}),
    ...(responseHeaders ? { responseHeaders } : {}),
    ...(respond ? { respond } : {}),
    ...(rewriter ? { rewrite: rewriter } : {}),
    ...(cors ? { cors } : {}),
    ...(fault ? { fault } : {}),
    ...(mirrors.length > 0 && bc.mirror ? { mirror: new RequestMirror(bc.mirror, mirrors) } : {}),
  });
}

/** Every header modifier filter of a kind, in order, as one mutation (`undefined` when none). */
function mergeMutations(filters: readonly RouteFilterIR[], kind: 'requestHeaders' | 'responseHeaders'): HeaderMutation | undefined {
  let out: { set: (readonly [string, string])[]; add: (readonly [string, string])[]; remove: string[] } | undefined;
  for (const f of filters) {
    if (f.kind !== kind) continue;
    const m: HeaderMutationIR = f.mutation;
    out ??= { set: [], add: [], remove: [] };
    out.set.push(...m.set);
    out.add.push(...m.add);
    out.remove.push(...m.remove);
  }
  return out ? Object.freeze(out) : undefined;
}

interface ResolvedTarget {
  readonly backend: Omit<RouteBackend, 'weight'>;
  readonly endpoints: readonly Endpoint[];
}

/** A Service port (and subset) → cluster and endpoints; `undefined` when it does not exist. */
export function resolveTarget(bc: BuildContext, t: BackendRefIR['target'], kind: 'http' | 'tcp' = 'http'): (ResolvedTarget & { reply?: LocalReply }) | undefined {
  const service = bc.view.snapshot.services.get(objectKey(t.namespace, t.name));
  const portNumber = t.port ?? bc.target.port.port;
  const port = service?.ports.find((p) => p.port === portNumber);
  if (!service || !port) return undefined;
  let endpoints = bc.view.endpoints(service, portNumber);
  let cluster = waypointClusterName(kind, portNumber, service.hostname);
  const dr = bc.destinationRules.get(objectKey(service.namespace, service.name));
  const own = loadBalancerForPort(dr, portNumber);
  let policy = own?.loadBalancer;
  let hash = own?.consistentHash;
  let resilience = backendResilienceOf(dr, undefined, portNumber);
  if (t.subset !== undefined) {
    const subset = dr?.subsets.find((s) => s.name === t.subset);
    // Istio's waypoint subset cluster: `inbound-vip|<port>|http/<subset>|<host>`.
    cluster = `inbound-vip|${portNumber}|${kind}/${t.subset}|${service.hostname}`;
    if (!subset) return { backend: { cluster, service, port, endpoints: [] }, endpoints: [], reply: NO_CLUSTER_REPLY };
    endpoints = endpoints.filter((ep) => labelsMatch(subset.labels, ep.workload.labels));
    // A subset's own policy (for this port) replaces the rule-wide one (either kind).
    resilience = backendResilienceOf(dr, subset, portNumber);
    const sub = loadBalancerForPort(subset, portNumber);
    if (sub) {
      policy = sub.loadBalancer;
      hash = sub.consistentHash;
    }
  }
  const picker = pickerFor(policy, endpoints, bc.random, hash);
  return { backend: { cluster, service, port, endpoints, ...(picker ? { picker } : {}), ...(resilience ? { resilience } : {}) }, endpoints };
}

function resolveBackend(bc: BuildContext, b: BackendRefIR): RouteBackend {
  const requestHeaders = mergeMutations(b.filters, 'requestHeaders');
  const responseHeaders = mergeMutations(b.filters, 'responseHeaders');
  const extra = { ...(requestHeaders ? { requestHeaders } : {}), ...(responseHeaders ? { responseHeaders } : {}) };
  const t = b.invalid === undefined ? resolveTarget(bc, b.target) : undefined;
  if (!t) {
    // The parent's cluster name keeps logs readable; the reply is what the spec asks for.
    const port = b.target.port ?? bc.target.port.port;
    const cluster = `inbound-vip|${port}|http|${b.target.name}.${b.target.namespace}.svc.${bc.view.snapshot.mesh.clusterDomain}`;
    return Object.freeze({ cluster, service: bc.target.service, port: bc.target.port, endpoints: [], weight: b.weight, reply: NO_BACKEND_REPLY, ...extra });
  }
  return Object.freeze({ ...t.backend, weight: b.weight, ...(t.reply ? { reply: t.reply } : {}), ...extra });
}
