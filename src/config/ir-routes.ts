/**
 * The IR for L7 routing: what HTTPRoute, GRPCRoute and VirtualService translate into, and the
 * backend settings of DestinationRule. Re-exported by `ir.ts`; kept apart because it is large and
 * owned by the routing issue.
 *
 * Everything here is plain data (so snapshots stay freezable and fingerprintable): regexes are
 * their RE2 source text, validated by the translator. `src/routing/` compiles them (with re2js,
 * linear time like Envoy's `safe_regex`) once per snapshot into route tables per service port;
 * nothing is compiled per request.
 */
import type { Origin } from './ir.js';

/** A regex as written (RE2 syntax), already checked to compile. Always a full match, as Envoy. */
export interface RegexIR {
  readonly source: string;
  readonly ignoreCase: boolean;
}

/** A string matcher for header, query and authority values. */
export type ValueMatchIR =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly regex: RegexIR }
  /** The header (or parameter) is present, whatever its value. */
  | { readonly kind: 'present' };

/**
 * A path matcher on the path without its query. `prefix` has Gateway API segment semantics
 * (`/foo` matches `/foo`, `/foo/`, `/foo/bar`, not `/foobar`; a trailing `/` of the value is
 * ignored); `rawPrefix` is VirtualService's plain string prefix.
 */
export type PathMatchIR =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'rawPrefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly regex: RegexIR };

export interface HeaderMatchIR {
  /** Lowercase: header names are case-insensitive. */
  readonly name: string;
  readonly match: ValueMatchIR;
  /** VirtualService `withoutHeaders`: the match succeeds when this one does not. */
  readonly invert: boolean;
}

export interface QueryMatchIR {
  /** Case-sensitive; the first value of a repeated key is the one matched (Envoy). */
  readonly name: string;
  readonly match: ValueMatchIR;
}

/** One match: every field must hold (AND). A rule's matches are ORed. */
export interface RouteMatchIR {
  /** Gateway API defaults a missing path to `PathPrefix /`; VirtualService may leave it out. */
  readonly path?: PathMatchIR;
  /** Upper case HTTP method. */
  readonly method?: string;
  readonly headers: readonly HeaderMatchIR[];
  readonly queryParams: readonly QueryMatchIR[];
  /** VirtualService `authority`. */
  readonly authority?: ValueMatchIR;
  /** VirtualService `port`: the service port the request arrived on. */
  readonly port?: number;
}

export interface HeaderMutationIR {
  /** Names lowercase. */
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

/** How a redirect or rewrite changes the path. */
export type PathModifierIR =
  | { readonly kind: 'full'; readonly value: string }
  /** Gateway API `ReplacePrefixMatch`: the matched `PathPrefix` is replaced (segment aware). */
  | { readonly kind: 'prefix'; readonly value: string }
  /** VirtualService `uri` rewrite: the matched prefix (or the whole path for exact/regex) is replaced as a string. */
  | { readonly kind: 'rawPrefix'; readonly value: string }
  /** VirtualService `uriRegexRewrite` (RE2 `\1` style substitution). */
  | { readonly kind: 'regex'; readonly regex: RegexIR; readonly substitution: string };

export interface RedirectIR {
  readonly scheme?: 'http' | 'https';
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: PathModifierIR;
  /** 301 (default), 302, 303, 307, 308. */
  readonly statusCode: number;
}

export interface RewriteIR {
  readonly hostname?: string;
  readonly path?: PathModifierIR;
}

/** A reference to a Service port (a backend or a mirror target). */
export interface ServiceRefIR {
  readonly namespace: string;
  readonly name: string;
  /** Service port; `undefined` = the port the request came in on (VirtualService without `port`). */
  readonly port?: number;
  /** DestinationRule subset name (VirtualService). */
  readonly subset?: string;
}

/**
 * A CORS policy (VirtualService `corsPolicy`), applied by the CORS filter (`filters/cors/`) to
 * requests this route matches: preflights answered, response headers added.
 */
export interface CorsPolicyIR {
  /** An origin is allowed when one of these matches it (exact, prefix or regex). */
  readonly allowOrigins: readonly ValueMatchIR[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  /** `access-control-max-age` in seconds; absent = not sent. */
  readonly maxAgeSeconds?: number;
  readonly allowCredentials: boolean;
}

export type RouteFilterIR =
  | { readonly kind: 'requestHeaders'; readonly mutation: HeaderMutationIR }
  | { readonly kind: 'responseHeaders'; readonly mutation: HeaderMutationIR }
  | { readonly kind: 'redirect'; readonly redirect: RedirectIR }
  | { readonly kind: 'rewrite'; readonly rewrite: RewriteIR }
  /** Fire-and-forget copy of the request; `percent` in [0, 100]. */
  | { readonly kind: 'mirror'; readonly target: ServiceRefIR; readonly percent: number }
  /** VirtualService `directResponse`. */
  | { readonly kind: 'directResponse'; readonly status: number; readonly body: string }
  /** VirtualService `corsPolicy`. */
  | { readonly kind: 'cors'; readonly cors: CorsPolicyIR };

export interface BackendRefIR {
  readonly target: ServiceRefIR;
  /** Relative weight; 0 never receives traffic. */
  readonly weight: number;
  /** Per-backend filters (header modifiers only are applied per backend). */
  readonly filters: readonly RouteFilterIR[];
  /**
   * Set when the reference is unusable (other kind, cross-namespace without grant...): traffic
   * chosen for it gets a 500, as the Gateway API requires.
   */
  readonly invalid?: string;
  /**
   * The Service is in another namespace than the route: usable only where a ReferenceGrant in
   * that namespace allows it (checked by the snapshot builder, which sets `invalid` otherwise).
   */
  readonly crossNamespace?: true;
}

/** `ReferenceGrant`: lets routes of the `from` namespaces reference the `to` objects of its own namespace. */
export interface ReferenceGrantIR {
  readonly namespace: string;
  readonly name: string;
  readonly from: readonly { readonly group: string; readonly kind: string; readonly namespace: string }[];
  /** `name` absent: every object of the kind. */
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
}

/** Retry settings as written; compiled into the route's retry policy (`src/routing/route-resilience.ts`). */
export interface RouteRetryIR {
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy `retry_on` tokens (status codes are in `codes`). */
  readonly retryOn: readonly string[];
  readonly codes: readonly number[];
  /** Back-off base interval (Envoy `base_interval`); absent = 25 ms. */
  readonly backoffMs?: number;
  /** Istio `retryIgnorePreviousHosts`; absent = true (a retry avoids the hosts already tried). */
  readonly ignorePreviousHosts?: boolean;
}

/** VirtualService `fault`; applied by the fault filter (`filters/fault/`). Percentages 0–100. */
export interface RouteFaultIR {
  readonly delay?: { readonly fixedDelayMs: number; readonly percent: number };
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: string; readonly percent: number };
}

export interface RouteRuleIR {
  /** Gateway API rule `name` / VirtualService route `name`. */
  readonly name?: string;
  /** ORed. Never empty: a rule without matches gets the catch-all match. */
  readonly matches: readonly RouteMatchIR[];
  readonly filters: readonly RouteFilterIR[];
  readonly backends: readonly BackendRefIR[];
  /** `timeouts.request` / VirtualService `timeout`; `undefined` = none. */
  readonly timeoutMs?: number;
  /** `timeouts.backendRequest` (per try). */
  readonly backendTimeoutMs?: number;
  readonly retry?: RouteRetryIR;
  readonly fault?: RouteFaultIR;
}

/**
 * VirtualService `tcp`/`tls` route, TCPRoute or TLSRoute rule: connections of the service port go
 * to its weighted destinations. The first rule whose match holds wins; matched on the service
 * port and, for TLS routes, the ClientHello's server name.
 */
export interface TcpRouteRuleIR {
  /** `match[].port`, ORed; empty = every port. */
  readonly ports: readonly number[];
  /**
   * TLS routes: server names (`sniHosts`, TLSRoute `hostnames`; lowercase, `*.` wildcards), one
   * of which the ClientHello's SNI must match. Absent: the rule ignores SNI.
   */
  readonly sniHosts?: readonly string[];
  readonly backends: readonly BackendRefIR[];
}

/** What a route attaches to. */
export type RouteParentIR =
  /** GAMMA: a Service (`group: ""`, `kind: Service`); `port` limits it to one service port. */
  | { readonly kind: 'Service'; readonly namespace: string; readonly name: string; readonly port?: number }
  /** The waypoint Gateway: every service it fronts (filtered by `hostnames`). */
  | { readonly kind: 'Gateway'; readonly namespace: string; readonly name: string; readonly port?: number };

/**
 * One HTTP route object. Gateway API routes use the spec's precedence across all routes of a
 * parent; VirtualService rules are first-match in order.
 */
export interface HttpRouteIR {
  readonly source: 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' | 'TLSRoute' | 'VirtualService';
  readonly name: string;
  readonly namespace: string;
  /** Milliseconds since the epoch (`metadata.creationTimestamp`); 0 when absent. */
  readonly createdAt: number;
  readonly parents: readonly RouteParentIR[];
  /** Gateway API `hostnames` (lowercase); empty = all. */
  readonly hostnames: readonly string[];
  readonly rules: readonly RouteRuleIR[];
  /** VirtualService `tcp` routes (in order), or a TCPRoute's rule; absent for HTTP-only routes. */
  readonly tcpRules?: readonly TcpRouteRuleIR[];
  readonly origin: Origin;
}

export type LoadBalancerIR = 'LEAST_REQUEST' | 'ROUND_ROBIN' | 'RANDOM' | 'PASSTHROUGH';

/** What a consistent-hash load balancer hashes (DestinationRule `consistentHash`). */
export type HashKeyIR =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'sourceIp' }
  | { readonly kind: 'queryParameter'; readonly name: string };

export interface ConsistentHashIR {
  readonly key: HashKeyIR;
  readonly algorithm: 'ringHash' | 'maglev';
  /** Ring hash: minimum points on the ring (Envoy default 1024). */
  readonly minimumRingSize: number;
}

/** DestinationRule `connectionPool`, validated; circuit breakers and pool settings (docs/resilience.md). Durations in ms. */
export interface ConnectionPoolIR {
  readonly tcp?: {
    readonly maxConnections?: number;
    readonly connectTimeoutMs?: number;
    readonly maxConnectionDurationMs?: number;
    readonly idleTimeoutMs?: number;
    readonly tcpKeepalive?: { readonly probes?: number; readonly timeMs?: number; readonly intervalMs?: number };
  };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
    readonly idleTimeoutMs?: number;
    readonly h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    readonly useClientProtocol?: boolean;
    readonly maxConcurrentStreams?: number;
  };
}

/** DestinationRule `outlierDetection`, validated; consecutive-error ejection (docs/resilience.md). */
export interface OutlierDetectionIR {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly consecutiveLocalOriginFailures?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}

/** `portLevelSettings[]`: one port's settings, replacing the policy's own for that port. */
export interface PortTrafficPolicyIR {
  readonly port: number;
  readonly loadBalancer?: LoadBalancerIR;
  readonly consistentHash?: ConsistentHashIR;
  readonly connectionPool?: ConnectionPoolIR;
  readonly outlierDetection?: OutlierDetectionIR;
}

export interface SubsetIR {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly loadBalancer?: LoadBalancerIR;
  readonly consistentHash?: ConsistentHashIR;
  readonly connectionPool?: ConnectionPoolIR;
  readonly outlierDetection?: OutlierDetectionIR;
  readonly portLevelSettings?: readonly PortTrafficPolicyIR[];
}

/** A DestinationRule resolved to its Service. */
export interface DestinationRuleIR {
  readonly name: string;
  readonly namespace: string;
  /** The Service the `host` names. */
  readonly service: { readonly namespace: string; readonly name: string };
  readonly subsets: readonly SubsetIR[];
  readonly loadBalancer?: LoadBalancerIR;
  /** Takes precedence over `loadBalancer` (they are one `oneof` in Istio). */
  readonly consistentHash?: ConsistentHashIR;
  readonly connectionPool?: ConnectionPoolIR;
  readonly outlierDetection?: OutlierDetectionIR;
  readonly portLevelSettings?: readonly PortTrafficPolicyIR[];
  readonly origin: Origin;
}
