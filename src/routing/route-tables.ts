/**
 * The waypoint's {@link RouteTableProvider}: the compiled route table of each service port of a
 * view, built on first use per (view, service port) and dropped with the view — so regexes,
 * precedence and backends are worked out once per snapshot, never per request.
 *
 * Which routes apply to a service port:
 * 1. Gateway API routes (HTTPRoute) whose `parentRefs` name the Service (GAMMA), for all its
 *    ports or the one `port` they name; else those attached to the Service's waypoint Gateway
 *    whose `hostnames` (if any) name the Service. Several routes merge, ordered by the spec's
 *    precedence (`route-precedence.ts`).
 * 2. Else VirtualServices whose `hosts` name the Service: first match wins, routes in age order.
 *    (Mixing both for one Service is undefined in Istio; Gateway API routes win here.)
 * 3. Else Istio's inbound default route (`DefaultRouteTables`).
 * TCP connections of the port follow the first VirtualService `tcp` rule for it
 * (`tcp-route-table.ts`), else the default route.
 * A table with routes and no matching rule answers 404 `NR`, as Envoy does.
 */
import type { DestinationRuleIR, HttpRouteIR, RouteMatchIR, RouteRuleIR } from '../config/ir-routes.js';
import { objectKey } from '../config/ir.js';
import type { RequestContext } from '../filter/api.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { RouteDecision, RouteTable, RouteTableProvider } from '../waypoint/router.js';
import { DefaultRouteTables } from '../waypoint/router.js';
import type { BuildContext } from './route-decision-builder.js';
import { buildDecision } from './route-decision-builder.js';
import { pickerFor } from './endpoint-picker.js';
import { loadBalancerForPort } from './load-balancer-for-port.js';
import { CompiledMatch, RequestView } from './route-match.js';
import { compareMatches, compareRoutes } from './route-precedence.js';
import type { MirrorDeps } from './request-mirror.js';
import { TcpRoutedTable, buildTcpDecision } from './tcp-route-table.js';
import type { FilterFactory } from '../filter/api.js';
import { createCorsFactory } from '../../filters/cors/cors-filter.js';
import { FaultStats, createFaultFactory } from '../../filters/fault/fault-filter.js';
import { backendResilienceOf } from './route-resilience.js';

/** How the fault filter of compiled routes runs (one set of stats per waypoint). */
export interface FaultFilterSettings {
  readonly stats: FaultStats;
  /** Envoy `max_active_faults`; unlimited when undefined. */
  readonly maxActiveFaults?: number;
}

interface Entry {
  readonly match: CompiledMatch;
  readonly decision: RouteDecision;
}

/** One service port's routes: ordered entries, first match wins. */
export class CompiledRouteTable implements RouteTable {
  /** Some route of the port has a CORS policy: the port's chain needs the CORS filter. */
  readonly hasCors: boolean;
  /** Some route of the port has a fault: the port's chain needs the fault filter. */
  readonly hasFault: boolean;

  constructor(
    private readonly entries: readonly Entry[],
    /** TCP traffic of the port keeps the default route (TCPRoute is not compiled yet). */
    private readonly tcp: RouteTable,
  ) {
    this.hasCors = entries.some((e) => e.decision.cors !== undefined);
    this.hasFault = entries.some((e) => e.decision.fault !== undefined);
  }

  routeHttp(ctx: RequestContext): RouteDecision | undefined {
    const req = new RequestView(ctx);
    for (const e of this.entries) if (e.match.matches(req)) return e.decision;
    return undefined;
  }

  routeTcp(): RouteDecision | undefined {
    return this.tcp.routeTcp();
  }
}

/** Routes and DestinationRules of one view, indexed once. */
class ViewRoutes {
  readonly tables = new Map<string, RouteTable>();
  /** Per service port: its route filters (CORS, fault), empty when no route needs one. */
  readonly routeFilters = new Map<string, readonly FilterFactory[]>();
  readonly destinationRules = new Map<string, DestinationRuleIR>();
  private readonly gatewayApi: HttpRouteIR[];
  private readonly virtualServices: HttpRouteIR[];

  constructor(view: MeshView) {
    const routes = [...(view.snapshot.httpRoutes ?? [])].sort(compareRoutes);
    this.gatewayApi = routes.filter((r) => r.source !== 'VirtualService');
    this.virtualServices = routes.filter((r) => r.source === 'VirtualService');
    // The oldest DestinationRule for a host wins, as in Istio.
    for (const dr of view.snapshot.destinationRules ?? []) {
      const k = objectKey(dr.service.namespace, dr.service.name);
      if (!this.destinationRules.has(k)) this.destinationRules.set(k, dr);
    }
  }

  gatewayRoutesFor(target: ServiceTarget): HttpRouteIR[] {
    const s = target.service;
    const direct = this.gatewayApi.filter((r) =>
      r.parents.some((p) => p.kind === 'Service' && p.namespace === s.namespace && p.name === s.name && (p.port === undefined || p.port === target.port.port)),
    );
    if (direct.length > 0 || !s.waypoint) return direct;
    const wp = s.waypoint;
    return this.gatewayApi.filter(
      (r) =>
        r.parents.some((p) => p.kind === 'Gateway' && p.namespace === wp.namespace && p.name === wp.name) &&
        (r.hostnames.length === 0 || r.hostnames.some((h) => hostnameNames(h, s.hostname, s.name, s.namespace))),
    );
  }

  /** VirtualServices naming the Service that have `http` routes (a tcp-only one leaves HTTP on the default route). */
  virtualServicesFor(target: ServiceTarget): HttpRouteIR[] {
    return this.virtualServicesOf(target).filter((r) => r.rules.length > 0);
  }

  /** VirtualServices naming the Service that have `tcp` routes. */
  tcpVirtualServicesFor(target: ServiceTarget): HttpRouteIR[] {
    return this.virtualServicesOf(target).filter((r) => (r.tcpRules?.length ?? 0) > 0);
  }

  private virtualServicesOf(target: ServiceTarget): HttpRouteIR[] {
    const s = target.service;
    return this.virtualServices.filter((r) => r.parents.some((p) => p.kind === 'Service' && p.namespace === s.namespace && p.name === s.name));
  }
}

/** A route `hostnames` entry (possibly `*.suffix`) names the Service by any of its DNS names. */
function hostnameNames(h: string, fqdn: string, name: string, namespace: string): boolean {
  const names = [fqdn, name, `${name}.${namespace}`, `${name}.${namespace}.svc`];
  if (h.startsWith('*.')) return names.some((n) => n.endsWith(h.slice(1)));
  return names.includes(h);
}

export class CompiledRouteTables implements RouteTableProvider {
  private readonly fallback = new DefaultRouteTables();
  private readonly byView = new WeakMap<MeshView, ViewRoutes>();

  /** Fault filter stats of these tables' routes (the waypoint's `fault.*` stats). */
  readonly faultStats: FaultStats;

  /**
   * `mirror`: how mirrors are sent (the waypoint's balancer and upstream); without it, none are.
   * `faults`: the fault filter's stats and active-fault cap.
   */
  constructor(
    private readonly mirror?: MirrorDeps,
    private readonly faults?: FaultFilterSettings,
  ) {
    this.faultStats = faults?.stats ?? new FaultStats();
  }

  tableFor(view: MeshView, target: ServiceTarget): RouteTable {
    let vr = this.byView.get(view);
    if (!vr) this.byView.set(view, (vr = new ViewRoutes(view)));
    const key = `${target.service.namespace}/${target.service.name}:${target.port.port}`;
    let t = vr.tables.get(key);
    if (!t) vr.tables.set(key, (t = this.build(view, vr, target)));
    return t;
  }

  /**
   * Route filters for the port's filter chain: the CORS filter when a route has a `corsPolicy`,
   * the fault filter when a route has a `fault`. Both live on routes, but Envoy applies them in
   * filters before the router; each filter looks its policy up in this port's table (same view,
   * same compiled matches).
   */
  readonly routeFilters = (view: MeshView, target: ServiceTarget): readonly FilterFactory[] => {
    const table = this.tableFor(view, target);
    const vr = this.byView.get(view) as ViewRoutes;
    const key = `${target.service.namespace}/${target.service.name}:${target.port.port}`;
    let f = vr.routeFilters.get(key);
    if (f === undefined) {
      const http = table instanceof TcpRoutedTable ? table.http : table;
      const out: FilterFactory[] = [];
      if (http instanceof CompiledRouteTable) {
        if (http.hasFault) {
          out.push(
            createFaultFactory({
              lookup: (ctx) => http.routeHttp(ctx)?.fault,
              random: this.mirror?.random ?? Math.random,
              stats: this.faultStats,
              ...(this.faults?.maxActiveFaults !== undefined ? { maxActiveFaults: this.faults.maxActiveFaults } : {}),
            }),
          );
        }
        if (http.hasCors) out.push(createCorsFactory((ctx) => http.routeHttp(ctx)?.cors));
      }
      f = Object.freeze(out);
      vr.routeFilters.set(key, f);
    }
    return f;
  };

  private build(view: MeshView, vr: ViewRoutes, target: ServiceTarget): RouteTable {
    const bc: BuildContext = { view, target, destinationRules: vr.destinationRules, mirror: this.mirror, random: this.mirror?.random ?? Math.random };
    const http = this.buildHttp(view, vr, target, bc);
    const tcp = buildTcpDecision(bc, vr.tcpVirtualServicesFor(target));
    return tcp ? new TcpRoutedTable(http, tcp) : http;
  }

  private buildHttp(view: MeshView, vr: ViewRoutes, target: ServiceTarget, bc: BuildContext): RouteTable {
    const fallback = this.fallback.tableFor(view, target);
    const gateway = vr.gatewayRoutesFor(target);
    if (gateway.length > 0) return new CompiledRouteTable(gatewayEntries(bc, gateway), fallback);
    const vs = vr.virtualServicesFor(target);
    if (vs.length > 0) return new CompiledRouteTable(orderedEntries(bc, vs), fallback);
    return withLoadBalancer(bc, fallback);
  }
}

/** The default route, with the Service's DestinationRule load balancer and connection settings when it sets them. */
function withLoadBalancer(bc: BuildContext, fallback: RouteTable): RouteTable {
  const s = bc.target.service;
  const dr = bc.destinationRules.get(objectKey(s.namespace, s.name));
  const lb = loadBalancerForPort(dr, bc.target.port.port);
  const resilience = backendResilienceOf(dr, undefined, bc.target.port.port);
  // The inbound default table answers one constant decision and never reads the request.
  const d = fallback.routeHttp(undefined as never);
  if (!d) return fallback;
  const backends = d.backends.map((b) => {
    const picker = pickerFor(lb?.loadBalancer, b.endpoints, bc.random, lb?.consistentHash);
    return picker || resilience ? Object.freeze({ ...b, ...(picker ? { picker } : {}), ...(resilience ? { resilience } : {}) }) : b;
  });
  if (backends.every((b, i) => b === d.backends[i])) return fallback;
  const decision: RouteDecision = Object.freeze({ ...d, backends: Object.freeze(backends) });
  return { routeHttp: () => decision, routeTcp: () => fallback.routeTcp() };
}

interface Candidate {
  readonly route: HttpRouteIR;
  readonly rule: RouteRuleIR;
  readonly ruleIndex: number;
  readonly match: RouteMatchIR;
  readonly matchIndex: number;
}

function candidates(routes: readonly HttpRouteIR[]): Candidate[] {
  const out: Candidate[] = [];
  for (const route of routes) {
    route.rules.forEach((rule, ruleIndex) => rule.matches.forEach((match, matchIndex) => out.push({ route, rule, ruleIndex, match, matchIndex })));
  }
  return out;
}

function toEntry(bc: BuildContext, c: Candidate): Entry {
  return Object.freeze({ match: new CompiledMatch(c.match), decision: buildDecision(bc, c.route, c.rule, c.ruleIndex, c.match, c.matchIndex) });
}

/** Gateway API: routes already in age/name order; the stable sort applies the match precedence. */
function gatewayEntries(bc: BuildContext, routes: readonly HttpRouteIR[]): Entry[] {
  return candidates(routes)
    .sort((a, b) => compareMatches(a.match, b.match))
    .map((c) => toEntry(bc, c));
}

/** VirtualService: the order written is the order matched. */
function orderedEntries(bc: BuildContext, routes: readonly HttpRouteIR[]): Entry[] {
  return candidates(routes).map((c) => toEntry(bc, c));
}
