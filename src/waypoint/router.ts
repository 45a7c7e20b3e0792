/**
 * Route decisions for the waypoint: which backend(s) a request (or TCP connection) of a service
 * port goes to, with what timeout, retry policy and header changes.
 *
 * The *default route* of a service port sends every request to that port's endpoints. Since Istio
 * 1.31 (istio/istio#60683) a waypoint builds it like a sidecar's outbound route
 * (`BuildDefaultHTTPOutboundRoute`): no timeout, and the mesh's `defaultHttpRetryPolicy` (Istio's
 * default: 2 retries on `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`,
 * previous hosts avoided), gRPC ports included; the old inbound `reset-before-request` ×2 is gone.
 * The policy is supplied by the caller (`src/routing/route-tables.ts`). Compiled route tables (HTTPRoute, GRPCRoute, TCPRoute, VirtualService;
 * `src/routing/`) plug in by implementing {@link RouteTableProvider}: the proxies only consume
 * {@link RouteDecision}s, so they do not change.
 */
import type { Readable } from 'node:stream';
import type { CorsPolicy } from '../../filters/cors/cors-filter.js';
import type { FaultPolicy } from '../../filters/fault/fault-filter.js';
import type { ServiceIR, ServicePortIR } from '../config/ir.js';
import type { LocalReply, RequestContext } from '../filter/api.js';
import type { HeaderMap } from '../filter/header-map.js';
import type { Endpoint, MeshView, ServiceTarget } from '../state/mesh-view.js';
import { waypointClusterName } from '../telemetry/access-record.js';
import { BACKOFF_MAX_FACTOR, DEFAULT_BACKOFF_BASE_MS } from '../upstream/backoff.js';
import type { BreakerThresholds } from '../upstream/circuit-breaker.js';
import type { UpstreamHttpVersion, UpstreamPoolSettings } from '../upstream/http-client.js';
import type { OutlierSettings } from '../upstream/outlier-detector.js';

/** Envoy `retry_on` conditions (router filter), HTTP and gRPC; decided in `src/upstream/retry-state.ts`. */
export type RetryCondition =
  | 'reset-before-request'
  | 'retriable-headers'
  | 'connect-failure'
  | 'refused-stream'
  | 'reset'
  | '5xx'
  | 'gateway-error'
  | 'retriable-4xx'
  | 'retriable-status-codes'
  | 'unavailable'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted';

export interface RetryPolicy {
  /** Retries after the first attempt (Envoy `num_retries`). */
  readonly numRetries: number;
  readonly retryOn: readonly RetryCondition[];
  /** 0 = none. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: readonly number[];
  /** `retry_host_predicate: previous_hosts`: a retry avoids hosts already tried. */
  readonly avoidPreviousHosts: boolean;
  /** Back-off `base_interval` (Envoy default 25 ms) and `max_interval` (default 10 × base). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

/** DestinationRule settings of a backend's cluster (`connectionPool`, `outlierDetection`), compiled. */
export interface BackendResilience {
  /** Circuit-breaker thresholds; absent = unlimited (Istio's default). */
  readonly breaker?: BreakerThresholds;
  /** Outlier detection; absent = off. */
  readonly outlier?: OutlierSettings;
  /** Upstream connection settings (max connections, requests per connection, idle timeout). */
  readonly pool?: UpstreamPoolSettings;
}

/** Header changes a route applies (HTTPRoute `RequestHeaderModifier`/`ResponseHeaderModifier`). */
export interface HeaderMutation {
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

/** One weighted backend of a route: a service port and its endpoints, resolved at build time. */
export interface RouteBackend {
  /** Envoy cluster name (`inbound-vip|<port>|http|<hostname>`), for logs and metrics. */
  readonly cluster: string;
  readonly service: ServiceIR;
  readonly port: ServicePortIR;
  readonly endpoints: readonly Endpoint[];
  readonly weight: number;
  /** Per-backend header changes (HTTPRoute `backendRefs[].filters`), after the route's. */
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  /** Set for a backend that cannot be used (missing Service or port...): its traffic gets this reply (500). */
  readonly reply?: LocalReply;
  /** DestinationRule load balancer other than least request; absent = the waypoint's least-request balancer. */
  readonly picker?: EndpointPicker;
  /** DestinationRule `connectionPool` / `outlierDetection` for this backend's cluster. */
  readonly resilience?: BackendResilience;
}

/**
 * What a picker may hash on: a request (headers, cookie, query, source IP), or a TCP connection,
 * which has only its source (so `consistentHash` by header or cookie falls back to random there).
 */
export type PickContext = Pick<RequestContext, 'source'> & Partial<Pick<RequestContext, 'headers' | 'path'>>;

/** Chooses an endpoint of one backend (round robin, random, consistent hash), holding its own per-snapshot state. */
export interface EndpointPicker {
  pick(ctx: PickContext): Endpoint | undefined;
}

/** Answers a request instead of proxying it (redirect, direct response, no usable backend). */
export interface RouteResponder {
  reply(ctx: RequestContext): LocalReply;
}

/** Changes the request after it matched, before it goes upstream (URL rewrite). */
export interface RequestTransform {
  apply(ctx: RequestContext): void;
}

/** Fire-and-forget copies of a request (RequestMirror); never affects the request itself. */
export interface RouteMirror {
  /**
   * Sends the shadows. Returns the body the real request must read instead of `body` (a stream
   * that also feeds the shadows), or `body` itself when nothing was mirrored.
   */
  send(ctx: RequestContext, version: UpstreamHttpVersion, body: Readable | null): Readable | null;
}

export interface RouteDecision {
  /** `%ROUTE_NAME%` (`default` for the inbound default route). */
  readonly name: string;
  /** `namespace/name` of the HTTPRoute whose rule this is (route-scoped AuthorizationPolicy). */
  readonly httpRoute?: string;
  readonly backends: readonly RouteBackend[];
  /** Sum of backend weights, precomputed for weighted picks. */
  readonly totalWeight: number;
  /** Route timeout covering all attempts; 0 = none (Istio's default). */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  /** When set, the request is answered with this instead of being proxied. */
  readonly respond?: RouteResponder;
  readonly rewrite?: RequestTransform;
  readonly mirror?: RouteMirror;
  /** VirtualService `corsPolicy`: applied by the CORS filter (`filters/cors/`), which looks it up before routing. */
  readonly cors?: CorsPolicy;
  /** VirtualService `fault`: applied by the fault filter (`filters/fault/`), which looks it up before routing. */
  readonly fault?: FaultPolicy;
}

/** The compiled routes of one service port. */
export interface RouteTable {
  /** `undefined`: no route matched (→ 404 `NR`). */
  routeHttp(req: RequestContext): RouteDecision | undefined;
  /**
   * The TCP route of a connection (TCPRoute, TLSRoute, VirtualService tcp/tls), by the server
   * name of its TLS ClientHello when it has one; `undefined` → connection closed with `NR`.
   */
  routeTcp(sni?: string): RouteDecision | undefined;
  /** Some TCP route matches on the server name: the proxy reads the ClientHello first. */
  readonly inspectsSni?: boolean;
}

/** Gives the route table of a service port in a given view (built once per view, then cached). */
export interface RouteTableProvider {
  tableFor(view: MeshView, target: ServiceTarget): RouteTable;
}

const NONE_RETRY_ON: readonly RetryCondition[] = Object.freeze([]);
const NO_CODES: readonly number[] = Object.freeze([]);

/** Envoy's back-off defaults, for policies that do not set one. */
export const DEFAULT_BACKOFF = Object.freeze({ backoffBaseMs: DEFAULT_BACKOFF_BASE_MS, backoffMaxMs: DEFAULT_BACKOFF_BASE_MS * BACKOFF_MAX_FACTOR });

const NO_RETRY: RetryPolicy = Object.freeze({
  numRetries: 0,
  retryOn: NONE_RETRY_ON,
  perTryTimeoutMs: 0,
  retriableStatusCodes: NO_CODES,
  avoidPreviousHosts: false,
  ...DEFAULT_BACKOFF,
});

/** The inbound default route of one service port: one decision for every request. */
class DefaultRouteTable implements RouteTable {
  private readonly http: RouteDecision;
  private readonly tcp: RouteDecision;

  constructor(view: MeshView, target: ServiceTarget, retry: RetryPolicy) {
    const endpoints = view.endpoints(target.service, target.port.port);
    const backend = (kind: 'http' | 'tcp'): RouteBackend =>
      Object.freeze({
        cluster: waypointClusterName(kind, target.port.port, target.service.hostname),
        service: target.service,
        port: target.port,
        endpoints,
        weight: 1,
      });
    this.http = Object.freeze({
      name: 'default',
      backends: Object.freeze([backend('http')]),
      totalWeight: 1,
      timeoutMs: 0,
      retry,
    });
    this.tcp = Object.freeze({
      name: 'default',
      backends: Object.freeze([backend('tcp')]),
      totalWeight: 1,
      timeoutMs: 0,
      retry: NO_RETRY,
    });
  }

  routeHttp(): RouteDecision {
    return this.http;
  }

  routeTcp(): RouteDecision {
    return this.tcp;
  }
}

/** Default route tables, built on first use per (view, service port) and dropped with the view. */
export class DefaultRouteTables implements RouteTableProvider {
  private readonly byView = new WeakMap<MeshView, Map<string, RouteTable>>();

  /** `defaultRetry`: the retry of the default HTTP route in a view (the mesh's default retry policy). */
  constructor(private readonly defaultRetry: (view: MeshView) => RetryPolicy) {}

  tableFor(view: MeshView, target: ServiceTarget): RouteTable {
    let tables = this.byView.get(view);
    if (!tables) this.byView.set(view, (tables = new Map<string, RouteTable>()));
    const key = `${target.service.namespace}/${target.service.name}:${target.port.port}`;
    let t = tables.get(key);
    if (!t) tables.set(key, (t = new DefaultRouteTable(view, target, this.defaultRetry(view))));
    return t;
  }
}

/** Picks a backend by weight (`random` in [0,1)). `undefined` only for a route without backends. */
export function selectBackend(decision: RouteDecision, random: () => number = Math.random): RouteBackend | undefined {
  const b = decision.backends;
  if (b.length <= 1) return b[0];
  let r = random() * decision.totalWeight;
  for (const backend of b) {
    r -= backend.weight;
    if (r < 0) return backend;
  }
  return b[b.length - 1];
}

/** Applies a route's header mutation: remove, then set, then add (Envoy's order). */
export function applyHeaderMutation(headers: HeaderMap, m: HeaderMutation): void {
  for (const name of m.remove) headers.delete(name);
  for (const [name, value] of m.set) headers.set(name, value);
  for (const [name, value] of m.add) headers.append(name, value);
}
