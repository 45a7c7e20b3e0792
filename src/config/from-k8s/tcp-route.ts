/**
 * `gateway.networking.k8s.io/v1alpha2 TCPRoute` → {@link HttpRouteIR} (source `TCPRoute`) with
 * one `tcpRules` entry per rule and no HTTP rules. Attached like HTTPRoute (`parentRefs` to a
 * Service, GAMMA, or to the waypoint Gateway). TCPRoute has no matches: Envoy's tcp_proxy takes
 * the first rule's weighted backends, so only rule 0 routes and any further rule is reported.
 * Backends follow HTTPRoute's rules (core Services; cross-namespace needs a ReferenceGrant).
 */
import type { BackendRefIR, HttpRouteIR, TcpRouteRuleIR } from '../ir-routes.js';
import { readBackendRef, readCreatedAt, readParentRefs } from './http-route.js';
import type { Translator } from './translator.js';

export const tcpRouteTranslator: Translator = {
  kind: 'TCPRoute',
  apiVersions: ['gateway.networking.k8s.io/v1alpha2'],
  namespaced: true,
  translate: (r) => {
    const namespace = r.id.namespace ?? 'default';
    const parents = readParentRefs(r, namespace);
    const tcpRules: TcpRouteRuleIR[] = [];
    r.list(['spec', 'rules']).forEach((_, i) => {
      const base = ['spec', 'rules', i];
      const backends: BackendRefIR[] = [];
      r.list([...base, 'backendRefs']).forEach((_b, j) => {
        const b = readBackendRef(r, [...base, 'backendRefs', j], namespace);
        if (b) backends.push(b);
      });
      if (i > 0) r.warn(base, 'UNSUPPORTED', 'a TCPRoute routes by its first rule only (TCP has nothing to match on)');
      else tcpRules.push({ ports: [], backends });
    });
    if (r.list(['spec', 'rules']).length === 0) r.error(['spec', 'rules'], 'FIELD_REQUIRED', 'a TCPRoute needs at least one rule');
    if (r.failed || parents.length === 0) return undefined;
    const value: HttpRouteIR = {
      source: 'TCPRoute',
      name: r.id.name,
      namespace,
      createdAt: readCreatedAt(r),
      parents,
      hostnames: [],
      rules: [],
      tcpRules,
      origin: r.origin,
    };
    return { type: 'HttpRoute', value };
  },
};
