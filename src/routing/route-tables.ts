/**
 * The waypoint's {@link RouteTableProvider}: the compiled route table of each service port of a
 * view, built on first use per (view, service port) and dropped with the view — so regexes,
 * precedence and backends are worked out once per snapshot, never per request.
 *
 * Which routes apply to a service port:
 * 1. Gateway API routes (HTTPRoute, GRPCRoute) whose `parentRefs` name the Service (GAMMA), for
 *    all its ports or the one `port` they name; else those attached to the Service's waypoint
 *    Gateway whose `hostnames` (if any) name the Service. Several routes merge, ordered by the
 *    spec's precedence (`route-precedence.ts`).
 *    GAMMA consumer routes (a route in another namespace than the Service it names) apply only to
 *    clients of the route's namespace (known from the peer's SPIFFE identity), and for them replace
 *    the producer routes — the GAMMA rule that a consumer's own routes take precedence.
 * 2. Else VirtualServices whose `hosts` name the Service: first match wins, routes in age order.
 *    (Mixing both for one Service is undefined in Istio; Gateway API routes win here.)
 * 3. Else Istio's inbound default route (`DefaultRouteTables`).
 * TCP connections of the port follow the TCPRoutes attached like (1), else the first VirtualService
 * `tcp` rule for it (`tcp-route-table.ts`), else the default route.
 * A table with routes and no matching rule answers 404 `NR`, as Envoy does.
 */
import type { DestinationRuleIR, HttpRouteIR, RouteMatchIR, RouteRuleIR } from '../config/ir-routes.js';
import { objectKey } from '../config/ir.js';
import type { WaypointRef } from '../config/ir.js';
import { parseSpiffeUri } from '../identity/spiffe.js';
import type { RequestContext } from '../filter/api.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { RouteBackend, RouteDecision, RouteTable, RouteTableProvider } from '../waypoint/router.js';
import { DefaultRouteTables } from '../waypoint/router.js';
import type { BuildContext } from './route-decision-builder.js';
import { buildDecision } from './route-decision-builder.js';
import { pickerFor } from './endpoint-picker.js';
import { loadBalancerForPort } from './load-balancer-for-port.js';
import { CompiledMatch, RequestView } from './route-match.js';
import { RouteScan } from './route-index.js';
import { compareMatches, compareRoutes } from './route-precedence.js';
import type { MirrorDeps } from './request-mirror.js';
import { TcpRoutedTable, buildTcpRules } from './tcp-route-table.js';
import type { FilterFactory } from '../filter/api.js';
import { createCorsFactory } from '../../filters/cors/cors-filter.js';
import { FaultStats, createFaultFactory } from '../../filters/fault/fault-filter.js';
import { backendResilienceOf, meshDefaultRetryPolicy } from './route-resilience.js';

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
  /** The entries in order, runs of look-alike matches found by lookup (route-index.ts). */
  private readonly scan: RouteScan<RequestView, Entry>;

  constructor(
    entries: readonly Entry[],
    /** TCP traffic of the port (its TCP routes, if any, wrap this table: `TcpRoutedTable`). */
    private readonly tcp: RouteTable,
  ) {
    this.hasCors = entries.some((e) => e.decision.cors !== undefined);
    this.hasFault = entries.some((e) => e.decision.fault !== undefined);
    this.scan = new RouteScan(entries);
  }

  routeHttp(ctx: RequestContext): RouteDecision | undefined {
    return this.scan.first(new RequestView(ctx))?.decision;
  }

  routeTcp(sni?: string): RouteDecision | undefined {
    return this.tcp.routeTcp(sni);
  }
}

/**
 * A port with GAMMA consumer routes: clients of a namespace that has its own routes for the
 * Service use those; everyone else the producer's table.
 */
class ConsumerRoutedTable implements RouteTable {
  readonly hasCors: boolean;
  readonly hasFault: boolean;

  constructor(
    private readonly producer: RouteTable,
    private readonly consumers: ReadonlyMap<string, CompiledRouteTable>,
  ) {
    const tables = [...consumers.values(), ...(isPolicyTable(producer) ? [producer] : [])];
    this.hasCors = tables.some((t) => t.hasCors);
    this.hasFault = tables.some((t) => t.hasFault);
  }

  routeHttp(ctx: RequestContext): RouteDecision | undefined {
    const ns = ctx.source.principal === undefined ? undefined : parseSpiffeUri(ctx.source.principal)?.namespace;
    const own = ns === undefined ? undefined : this.consumers.get(ns);
    return (own ?? this.producer).routeHttp(ctx);
  }

  routeTcp(sni?: string): RouteDecision | undefined {
    return this.producer.routeTcp(sni);
  }
}

/** A table whose routes may carry policies applied by filters before the router (CORS, fault). */
function isPolicyTable(t: RouteTable): t is CompiledRouteTable | ConsumerRoutedTable {
  return t instanceof CompiledRouteTable || t instanceof ConsumerRoutedTable;
}

/** The Gateway API routes naming a Service, split by who wrote them (GAMMA producer vs consumer). */
interface AttachedRoutes {
  readonly producer: HttpRouteIR[];
  /** Consumer routes by their namespace. */
  readonly consumers: Map<string, HttpRouteIR[]>;
}

/** Routes and DestinationRules of one view, indexed once. */
class ViewRoutes {
  readonly tables = new Map<string, RouteTable>();
  /** Per service port: its route filters (CORS, fault), empty when no route needs one. */
  readonly routeFilters = new Map<string, readonly FilterFactory[]>();
  readonly destinationRules = new Map<string, DestinationRuleIR>();
  private readonly gatewayApi: HttpRouteIR[];
  private readonly tcpRoutes: HttpRouteIR[];
  private readonly virtualServices: HttpRouteIR[];

  constructor(
    view: MeshView,
    private readonly self: WaypointRef | undefined,
  ) {
    const routes = [...(view.snapshot.httpRoutes ?? [])].sort(compareRoutes);
    this.gatewayApi = routes.filter((r) => r.source === 'HTTPRoute' || r.source === 'GRPCRoute');
    this.tcpRoutes = routes.filter((r) => r.source === 'TCPRoute' || r.source === 'TLSRoute');
    this.virtualServices = routes.filter((r) => r.source === 'VirtualService');
    // The oldest DestinationRule for a host wins, as in Istio.
    for (const dr of view.snapshot.destinationRules ?? []) {
      const k = objectKey(dr.service.namespace, dr.service.name);
      if (!this.destinationRules.has(k)) this.destinationRules.set(k, dr);
    }
  }

  gatewayRoutesFor(target: ServiceTarget): AttachedRoutes {
    return attached(this.gatewayApi, target, this.gatewayOf(target));
  }

  /** TCPRoutes for the port: producer routes only (a TCP connection's consumer is not worth a table). */
  tcpGatewayRoutesFor(target: ServiceTarget): HttpRouteIR[] {
    return attached(this.tcpRoutes, target, this.gatewayOf(target)).producer;
  }

  /** The Gateway whose attached routes serve the Service here: this waypoint when it fronts it (also as canary). */
  private gatewayOf(target: ServiceTarget): WaypointRef | undefined {
    const s = target.service;
    const canary = s.waypointCanary?.waypoint;
    if (this.self && canary && canary.name === this.self.name && canary.namespace === this.self.namespace) return this.self;
    return s.waypoint;
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

/**
 * Routes attached to the Service (port) itself, producer and consumer; when the producer wrote
 * none, the producer side is the routes attached to the Service's waypoint Gateway for its name.
 */
function attached(routes: readonly HttpRouteIR[], target: ServiceTarget, gateway: WaypointRef | undefined): AttachedRoutes {
  const s = target.service;
  const producer: HttpRouteIR[] = [];
  const consumers = new Map<string, HttpRouteIR[]>();
  for (const r of routes) {
    if (!r.parents.some((p) => p.kind === 'Service' && p.namespace === s.namespace && p.name === s.name && (p.port === undefined || p.port === target.port.port))) continue;
    if (r.namespace === s.namespace) producer.push(r);
    else consumers.set(r.namespace, [...(consumers.get(r.namespace) ?? []), r]);
  }
  if (producer.length > 0 || !gateway) return { producer, consumers };
  const wp = gateway;
  const viaGateway = routes.filter(
    (r) =>
      r.parents.some((p) => p.kind === 'Gateway' && p.namespace === wp.namespace && p.name === wp.name) &&
      (r.hostnames.length === 0 || r.hostnames.some((h) => hostnameNames(h, s.hostname, s.name, s.namespace))),
  );
  return { producer: viaGateway, consumers };
}

/** A route `hostnames` entry (possibly `*.suffix`) names the Service by any of its DNS names. */
function hostnameNames(h: string, fqdn: string, name: string, namespace: string): boolean {
  const names = [fqdn, name, `${name}.${namespace}`, `${name}.${namespace}.svc`];
  if (h.startsWith('*.')) return names.some((n) => n.endsWith(h.slice(1)));
  return names.includes(h);
}

export class CompiledRouteTables implements RouteTableProvider {
  private readonly fallback = new DefaultRouteTables((view) => meshDefaultRetryPolicy(view.snapshot.mesh.defaultHttpRetry));
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
    /** The waypoint these tables serve (routes attached to its Gateway apply, also as a canary). */
    private readonly self?: WaypointRef,
  ) {
    this.faultStats = faults?.stats ?? new FaultStats();
  }

  tableFor(view: MeshView, target: ServiceTarget): RouteTable {
    let vr = this.byView.get(view);
    if (!vr) this.byView.set(view, (vr = new ViewRoutes(view, this.self)));
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
      if (isPolicyTable(http)) {
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

  /**
   * The HTTPRoute (`namespace/name`) that routes a request on this port, for AuthorizationPolicies
   * attached to routes: the authz filter runs before the router, so it asks the port's table.
   */
  readonly routeOf = (view: MeshView, target: ServiceTarget): ((ctx: RequestContext) => string | undefined) => {
    const table = this.tableFor(view, target);
    return (ctx) => table.routeHttp(ctx)?.httpRoute;
  };

  private build(view: MeshView, vr: ViewRoutes, target: ServiceTarget): RouteTable {
    const bc: BuildContext = { view, target, destinationRules: vr.destinationRules, mirror: this.mirror, random: this.mirror?.random ?? Math.random };
    const http = this.buildHttp(view, vr, target, bc);
    const tcpRoutes = vr.tcpGatewayRoutesFor(target);
    const tcp = buildTcpRules(bc, tcpRoutes.length > 0 ? tcpRoutes : vr.tcpVirtualServicesFor(target));
    return tcp.length > 0 ? new TcpRoutedTable(http, tcp) : http;
  }

  private buildHttp(view: MeshView, vr: ViewRoutes, target: ServiceTarget, bc: BuildContext): RouteTable {
    const fallback = this.fallback.tableFor(view, target);
    const gateway = vr.gatewayRoutesFor(target);
    const producer = this.buildProducer(vr, target, bc, gateway.producer, fallback);
    if (gateway.consumers.size === 0) return producer;
    const consumers = new Map<string, CompiledRouteTable>();
    for (const [ns, routes] of gateway.consumers) consumers.set(ns, new CompiledRouteTable(gatewayEntries(bc, routes), fallback));
    return new ConsumerRoutedTable(producer, consumers);
  }

  private buildProducer(vr: ViewRoutes, target: ServiceTarget, bc: BuildContext, gateway: readonly HttpRouteIR[], fallback: RouteTable): RouteTable {
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
  // TCP connections of the port balance by the same policy (a hash can only use the source IP there).
  const t = fallback.routeTcp();
  const tcp: RouteDecision | undefined = t && Object.freeze({ ...t, backends: Object.freeze(t.backends.map((b, i) => Object.freeze({ ...b, ...pickerOf(backends[i]) }))) });
  return { routeHttp: () => decision, routeTcp: () => tcp };
}

function pickerOf(b: RouteBackend | undefined): { picker?: RouteBackend['picker'] } {
  return b?.picker ? { picker: b.picker } : {};
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
