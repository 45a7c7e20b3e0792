/**
 * TCPRoute/TLSRoute or VirtualService `tcp`/`tls` routes of one service port → the TCP
 * {@link RouteDecision} the waypoint's TCP proxy consumes (`RouteTable.routeTcp(sni)`). Rules
 * that name server names (TLS routes) are tried first, in order, against the ClientHello's SNI
 * (as Envoy picks a filter chain by `server_names` before the catch-all); then the first rule
 * (VirtualServices in age order, rules in the order written) whose `match[].port` names the port,
 * or that has no port match, decides. Its destinations become weighted backends
 * (`inbound-vip|<port>|tcp[/<subset>]|<host>`). No rule applies: the port's default TCP route, as
 * Istio builds it. Built once per snapshot.
 */
import type { BackendRefIR, HttpRouteIR } from '../config/ir-routes.js';
import type { RouteBackend, RouteDecision, RouteTable } from '../waypoint/router.js';
import { DEFAULT_BACKOFF } from '../waypoint/router.js';
import type { BuildContext } from './route-decision-builder.js';
import { resolveTarget } from './route-decision-builder.js';

/** TCP has no retries or timeouts here: Istio's tcp_proxy has neither (idle timeout is issue 4). */
const TCP_RETRY = Object.freeze({ numRetries: 0, retryOn: Object.freeze([]), perTryTimeoutMs: 0, retriableStatusCodes: Object.freeze([]), avoidPreviousHosts: false, ...DEFAULT_BACKOFF });

/** One applicable rule of the port, compiled. */
export interface TcpRule {
  /** Server names the connection's SNI must match (exact, or `*.suffix`); absent: any connection. */
  readonly sniHosts?: readonly string[];
  readonly decision: RouteDecision;
}

/** Does `sni` match one of `hosts` (exact, or a `*.` wildcard covering at least one label)? */
export function sniMatches(hosts: readonly string[], sni: string | undefined): boolean {
  if (sni === undefined) return false;
  for (const h of hosts) {
    if (h === sni || h === '*') return true;
    if (h.startsWith('*.') && sni.length > h.length - 1 && sni.endsWith(h.slice(1))) return true;
  }
  return false;
}

function backendOf(bc: BuildContext, ref: BackendRefIR): RouteBackend {
  const { target, weight } = ref;
  const t = ref.invalid === undefined ? resolveTarget(bc, target, 'tcp') : undefined;
  if (t) return Object.freeze({ ...t.backend, weight });
  // An unknown or unusable Service or port: no endpoints, so its share of connections is closed (`UH`).
  const port = target.port ?? bc.target.port.port;
  const cluster = `inbound-vip|${port}|tcp|${target.name}.${target.namespace}.svc.${bc.view.snapshot.mesh.clusterDomain}`;
  return Object.freeze({ cluster, service: bc.target.service, port: bc.target.port, endpoints: [], weight });
}

/** The port's TCP rules from its routes (SNI rules first), each with its decision; empty when none applies. */
export function buildTcpRules(bc: BuildContext, routes: readonly HttpRouteIR[]): readonly TcpRule[] {
  const port = bc.target.port.port;
  const sni: TcpRule[] = [];
  const plain: TcpRule[] = [];
  for (const route of routes) {
    // Named per section, as written: `<ns>.<name>.tls.<i>` / `.tcp.<i>`.
    let tls = 0;
    let tcp = 0;
    for (const rule of route.tcpRules ?? []) {
      const index = rule.sniHosts ? tls++ : tcp++;
      if (rule.ports.length > 0 && !rule.ports.includes(port)) continue;
      const backends = rule.backends.filter((b) => b.weight > 0).map((b) => backendOf(bc, b));
      const decision: RouteDecision = Object.freeze({
        name: `${route.namespace}.${route.name}.${rule.sniHosts ? 'tls' : 'tcp'}.${index}`,
        backends: Object.freeze(backends),
        totalWeight: backends.reduce((s, b) => s + b.weight, 0),
        timeoutMs: 0,
        retry: TCP_RETRY,
      });
      if (rule.sniHosts) sni.push(Object.freeze({ sniHosts: rule.sniHosts, decision }));
      else plain.push(Object.freeze({ decision }));
    }
  }
  return Object.freeze([...sni, ...plain]);
}

/**
 * A table whose HTTP side is `http` and whose TCP side is its rules: the first that matches the
 * connection, else `http`'s own (default) TCP route.
 */
export class TcpRoutedTable implements RouteTable {
  readonly inspectsSni: boolean;

  constructor(
    readonly http: RouteTable,
    private readonly rules: readonly TcpRule[],
  ) {
    this.inspectsSni = rules.some((r) => r.sniHosts !== undefined);
  }

  routeHttp(...args: Parameters<RouteTable['routeHttp']>): RouteDecision | undefined {
    return this.http.routeHttp(...args);
  }

  routeTcp(sni?: string): RouteDecision | undefined {
    for (const r of this.rules) if (!r.sniHosts || sniMatches(r.sniHosts, sni)) return r.decision;
    return this.http.routeTcp();
  }
}
