/**
 * `gateway.networking.k8s.io TCPRoute` and `TLSRoute` → {@link HttpRouteIR} (source `TCPRoute` /
 * `TLSRoute`) with one `tcpRules` entry and no HTTP rules. Attached like HTTPRoute (`parentRefs`
 * to a Service, GAMMA, or to the waypoint Gateway). Neither kind has rule matches: Envoy's
 * tcp_proxy takes the first rule's weighted backends, so only rule 0 routes and any further rule
 * is reported. A TLSRoute matches on its `hostnames` against the ClientHello's server name (TLS
 * passes through; no hostnames: any server name). Backends follow HTTPRoute's rules (core
 * Services; cross-namespace needs a ReferenceGrant).
 */
import type { BackendRefIR, HttpRouteIR, TcpRouteRuleIR } from '../ir-routes.js';
import { readBackendRef, readCreatedAt, readParentRefs } from './http-route.js';
import type { Translator } from './translator.js';
import { readSniHosts } from './virtual-service.js';

export const tcpRouteTranslator: Translator = passThroughRouteTranslator('TCPRoute', ['gateway.networking.k8s.io/v1alpha2']);
export const tlsRouteTranslator: Translator = passThroughRouteTranslator('TLSRoute', ['gateway.networking.k8s.io/v1alpha2', 'gateway.networking.k8s.io/v1alpha3']);

function passThroughRouteTranslator(kind: 'TCPRoute' | 'TLSRoute', apiVersions: readonly string[]): Translator {
  const what = kind === 'TCPRoute' ? 'TCP' : 'TLS passthrough';
  return {
    kind,
    apiVersions,
    namespaced: true,
    translate: (r) => {
      const namespace = r.id.namespace ?? 'default';
      const parents = readParentRefs(r, namespace);
      const sni = kind === 'TLSRoute' ? readSniHosts(r, ['spec', 'hostnames']) : undefined;
      const sniHosts = sni === undefined ? {} : { sniHosts: sni.length > 0 ? sni : ['*'] };
      const tcpRules: TcpRouteRuleIR[] = [];
      r.list(['spec', 'rules']).forEach((_, i) => {
        const base = ['spec', 'rules', i];
        const backends: BackendRefIR[] = [];
        r.list([...base, 'backendRefs']).forEach((_b, j) => {
          const b = readBackendRef(r, [...base, 'backendRefs', j], namespace);
          if (b) backends.push(b);
        });
        if (i > 0) r.warn(base, 'UNSUPPORTED', `a ${kind} routes by its first rule only (${what} rules have nothing to match on)`);
        else tcpRules.push({ ports: [], ...sniHosts, backends });
      });
      if (r.list(['spec', 'rules']).length === 0) r.error(['spec', 'rules'], 'FIELD_REQUIRED', `a ${kind} needs at least one rule`);
      if (r.failed || parents.length === 0) return undefined;
      const value: HttpRouteIR = {
        source: kind,
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
}
