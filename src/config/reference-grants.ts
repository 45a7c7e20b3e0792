/**
 * Applies ReferenceGrants to the cross-namespace backendRefs of Gateway API routes: a backend in
 * another namespace is usable only when a grant in that namespace names the route's kind and
 * namespace (`from`) and the Service (`to`, by name or every Service). Otherwise the backend
 * becomes invalid (its share of traffic gets the spec's 500) and the route gets a warning, as a
 * Gateway API implementation reports `ResolvedRefs: False / RefNotPermitted`.
 */
import type { BackendRefIR, HttpRouteIR, ReferenceGrantIR, RouteRuleIR, TcpRouteRuleIR } from './ir-routes.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Called for each refused backend: rule index, backend index (in `rules` or `tcpRules`), message. */
export type RefusedReference = (ruleIndex: number, backendIndex: number, message: string) => void;

function permitted(grants: readonly ReferenceGrantIR[], route: HttpRouteIR, b: BackendRefIR): boolean {
  return grants.some(
    (g) =>
      g.namespace === b.target.namespace &&
      g.from.some((f) => f.group === GATEWAY_GROUP && f.kind === route.source && f.namespace === route.namespace) &&
      g.to.some((t) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === b.target.name)),
  );
}

function checked(grants: readonly ReferenceGrantIR[], route: HttpRouteIR, b: BackendRefIR, refuse: (message: string) => void): BackendRefIR {
  if (!b.crossNamespace || b.invalid !== undefined || permitted(grants, route, b)) return b;
  refuse(`no ReferenceGrant in namespace ${b.target.namespace} allows ${route.source}s of ${route.namespace} to use Service ${b.target.name}; its share of traffic gets a 500`);
  return { ...b, invalid: 'cross-namespace backendRef without ReferenceGrant' };
}

/** The route with every unpermitted cross-namespace backend marked invalid (the same object when none is). */
export function applyReferenceGrants(route: HttpRouteIR, grants: readonly ReferenceGrantIR[], refuse: RefusedReference): HttpRouteIR {
  // VirtualService destinations may name any namespace (Istio's exportTo governs them, not grants).
  if (route.source === 'VirtualService') return route;
  let changed = false;
  const rules = route.rules.map((rule: RouteRuleIR, ri): RouteRuleIR => {
    const backends = rule.backends.map((b, bi) => checked(grants, route, b, (m) => refuse(ri, bi, m)));
    if (backends.every((b, i) => b === rule.backends[i])) return rule;
    changed = true;
    return { ...rule, backends };
  });
  const tcpRules = route.tcpRules?.map((rule: TcpRouteRuleIR, ri): TcpRouteRuleIR => {
    const backends = rule.backends.map((b, bi) => checked(grants, route, b, (m) => refuse(ri, bi, m)));
    if (backends.every((b, i) => b === rule.backends[i])) return rule;
    changed = true;
    return { ...rule, backends };
  });
  return changed ? { ...route, rules, ...(tcpRules ? { tcpRules } : {}) } : route;
}
