/**
 * TCPRoute or VirtualService `tcp` routes of one service port → the TCP {@link RouteDecision} the waypoint's
 * TCP proxy consumes (`RouteTable.routeTcp()`): the first rule (VirtualServices in age order,
 * rules in the order written) whose `match[].port` names the port, or that has no port match,
 * decides; its destinations become weighted backends (`inbound-vip|<port>|tcp[/<subset>]|<host>`).
 * No rule for the port: the default TCP route, as Istio builds it. Built once per snapshot.
 */
import type { BackendRefIR, HttpRouteIR, TcpRouteRuleIR } from '../config/ir-routes.js';
import type { RouteBackend, RouteDecision, RouteTable } from '../waypoint/router.js';
import { DEFAULT_BACKOFF } from '../waypoint/router.js';
import type { BuildContext } from './route-decision-builder.js';
import { resolveTarget } from './route-decision-builder.js';

/** TCP has no retries or timeouts here: Istio's tcp_proxy has neither (idle timeout is issue 4). */
const TCP_RETRY = Object.freeze({ numRetries: 0, retryOn: Object.freeze([]), perTryTimeoutMs: 0, retriableStatusCodes: Object.freeze([]), avoidPreviousHosts: false, ...DEFAULT_BACKOFF });

/** The first tcp rule of `routes` that applies to the port of `bc.target`. */
function ruleFor(bc: BuildContext, routes: readonly HttpRouteIR[]): { route: HttpRouteIR; rule: TcpRouteRuleIR; index: number } | undefined {
  const port = bc.target.port.port;
  for (const route of routes) {
    const rules = route.tcpRules ?? [];
    for (let index = 0; index < rules.length; index++) {
      const rule = rules[index] as TcpRouteRuleIR;
      if (rule.ports.length === 0 || rule.ports.includes(port)) return { route, rule, index };
    }
  }
  return undefined;
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

/** The TCP decision of a service port from its VirtualServices, or `undefined` when none applies. */
export function buildTcpDecision(bc: BuildContext, routes: readonly HttpRouteIR[]): RouteDecision | undefined {
  const found = ruleFor(bc, routes);
  if (!found) return undefined;
  const backends = found.rule.backends.filter((b) => b.weight > 0).map((b) => backendOf(bc, b));
  return Object.freeze({
    name: `${found.route.namespace}.${found.route.name}.tcp.${found.index}`,
    backends: Object.freeze(backends),
    totalWeight: backends.reduce((s, b) => s + b.weight, 0),
    timeoutMs: 0,
    retry: TCP_RETRY,
  });
}

/** A table whose HTTP side is `http` and whose TCP side is one fixed decision. */
export class TcpRoutedTable implements RouteTable {
  constructor(
    readonly http: RouteTable,
    private readonly tcp: RouteDecision,
  ) {}

  routeHttp(...args: Parameters<RouteTable['routeHttp']>): RouteDecision | undefined {
    return this.http.routeHttp(...args);
  }

  routeTcp(): RouteDecision {
    return this.tcp;
  }
}
