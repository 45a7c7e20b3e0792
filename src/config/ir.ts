/**
 * The internal model (IR): what every config source translates into and the only config shape the
 * data path reads. Wire and CRD types never leave their translator (`src/config/from-k8s/*`,
 * later `from-xds/*`).
 *
 * Everything here is plain, immutable data. A {@link Snapshot} is built once per config change,
 * frozen, and swapped atomically by the snapshot store; a connection or request keeps the snapshot
 * it started with. Derived lookups (by IP, by VIP, endpoints of a service) live in
 * `src/state/indexes.ts`, built from a snapshot at build time, never per request.
 */

import type { DestinationRuleIR, HttpRouteIR, RouteRetryIR } from './ir-routes.js';
import type { ExtAuthzProviderIR, L7PolicyIR, PathNormalizationIR, PeerAuthnIR, RequestAuthnIR } from './ir-security.js';
import type { AccessLogEncodingIR, MeshTracingIR, TelemetryIR } from './ir-telemetry.js';
import type { LogFormatIR } from './log-format.js';
import type { WasmPluginIR } from './ir-wasm.js';

export type * from './ir-routes.js';

/** A SPIFFE identity URI, `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
export type SpiffeUri = string;

/** `namespace/name`, the key of every namespaced object in the IR. */
export type ObjectKey = string;

/** Where an object came from, so diagnostics and admin dumps can point back at it. */
export interface Origin {
  /** File path (local directory source), or a source-specific locator (xDS type URL, kube API). */
  readonly source: string;
  /** 1-based line of the object's start in `source`, when known. */
  readonly line?: number;
}

export interface NamespaceIR {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations the mesh reads (`istio.io/use-waypoint-canary-weight`); absent when none. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * How a workload receives mesh traffic. `HBONE`: enrolled in ambient (its node's ztunnel listens on
 * `ip:15008` with its identity). `TCP`: not in the mesh; reached in plaintext on `ip:port`.
 */
export type TunnelProtocol = 'HBONE' | 'TCP';

export interface ContainerPortIR {
  readonly name?: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A built-in demo application the local runner starts for a Pod (see `src/apps/`). */
export interface DemoAppIR {
  /** The built-in app's name, taken from the container image (e.g. `echo`). */
  readonly kind: 'echo';
  /** The ports it listens on, from the container's `ports`. */
  readonly ports: readonly number[];
}

export interface WorkloadIR {
  /** Stable id: `Pod/<namespace>/<name>`. */
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The workload's SPIFFE identity, derived from trust domain, namespace and service account. */
  readonly identity: SpiffeUri;
  /** The pod IP (`status.podIP`); in the local mesh, in 127.1.0.0/16. */
  readonly ip: string;
  /** `spec.nodeName`: which node's ztunnel serves it. */
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly protocol: TunnelProtocol;
  readonly containerPorts: readonly ContainerPortIR[];
  /** Canonical service and revision (Istio's `service.istio.io/canonical-*` labels, else `app`/`version`). */
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  /** The workload's controller kind and name for telemetry (`deployment`/`pod`...). */
  readonly workloadName: string;
  /** Set when the runner should start a built-in demo app for this pod. */
  readonly demoApp?: DemoAppIR;
  readonly origin: Origin;
}

/**
 * The application protocol of a service port, from `appProtocol` or the port name prefix
 * (Istio's protocol selection). `unknown` means "sniff".
 */
export type AppProtocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'tls' | 'unknown';

export interface ServicePortIR {
  readonly name?: string;
  readonly port: number;
  /** A number, or a container port name resolved per endpoint. */
  readonly targetPort: number | string;
  readonly appProtocol: AppProtocol;
}

/** Reference to a waypoint Gateway by namespace and name. */
export interface WaypointRef {
  readonly namespace: string;
  readonly name: string;
}

export interface ServiceIR {
  readonly name: string;
  readonly namespace: string;
  /** `<name>.<namespace>.svc.<clusterDomain>`. */
  readonly hostname: string;
  /** ClusterIPs (VIPs). In the local mesh, 127.100.0.0/16; never bound, only named in authorities. */
  readonly vips: readonly string[];
  readonly ports: readonly ServicePortIR[];
  /** Pod label selector; `undefined` means the Service has no selector (no endpoints from pods). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The waypoint this Service's traffic goes through: from `istio.io/use-waypoint` on the Service,
   * else on its Namespace (`none` on the Service opts out). Resolved against existing waypoints.
   */
  readonly waypoint?: WaypointRef;
  /**
   * Istio 1.31's weighted waypoint canary: a second waypoint (`istio.io/use-waypoint-canary`,
   * `-namespace`) taking `weight` percent of new connections (`istio.io/use-waypoint-canary-weight`),
   * the primary `waypoint` the rest. Only set beside a `waypoint`, read from the same level (the
   * Service, else its Namespace) and only when valid, as istiod builds `weighted_waypoints`.
   */
  readonly waypointCanary?: WaypointCanaryIR;
  /**
   * Endpoints given as addresses (an Envoy `ClusterLoadAssignment`) instead of a pod selector.
   * Each is resolved to the mesh workload at that IP (HBONE, its identity) or, when none is
   * known, a plaintext endpoint outside the mesh.
   */
  readonly staticEndpoints?: readonly StaticEndpointIR[];
  readonly origin: Origin;
}

/** The canary waypoint of a Service and its share (0–100) of new connections. */
export interface WaypointCanaryIR {
  readonly waypoint: WaypointRef;
  readonly weight: number;
}

/** One address of a {@link ServiceIR.staticEndpoints} list; `port` is the endpoint's own port. */
export interface StaticEndpointIR {
  readonly ip: string;
  readonly port: number;
  /** Set when the endpoint backs one service port only (Istio WDS `services` port lists). */
  readonly servicePort?: number;
}

/** Which traffic a waypoint handles (`istio.io/waypoint-for`; Istio's default is `service`). */
export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

export interface WaypointIR {
  readonly name: string;
  readonly namespace: string;
  /** Addresses the waypoint listens on (Gateway `spec.addresses`); local mesh: 127.2.0.0/16. */
  readonly addresses: readonly string[];
  /**
   * Hostname addresses of the Gateway (`type: Hostname`, in a cluster the waypoint's own Service,
   * `waypoint.ns.svc.cluster.local`): nothing to bind; the waypoint then listens on its pod's IP
   * (`ambient waypoint --bind instance-ip`). Absent or empty when every address is an IP.
   */
  readonly hostnames?: readonly string[];
  /** The HBONE port of the `mesh` listener (15008). */
  readonly hbonePort: number;
  /** The waypoint's identity: Istio runs a waypoint under a ServiceAccount named after its Gateway. */
  readonly identity: SpiffeUri;
  readonly serviceAccount: string;
  readonly waypointFor: WaypointFor;
  /**
   * `ambient.istio.io/xfcc-include-client-identity: "true"` on the Gateway (Istio 1.30): requests
   * reach the app with `x-forwarded-client-cert: By=<waypoint>;URI=<client>`, replacing any sent.
   */
  readonly xfccClientIdentity?: boolean;
  readonly origin: Origin;
}

/** A string matcher as the workload API's L4 authorization expresses it. */
export type StringMatchIR =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'presence' };

/** An IPv4/IPv6 CIDR, pre-parsed so the data path never parses text. */
export interface CidrIR {
  readonly text: string;
  readonly family: 4 | 6;
  /** Network address as bytes, masked. */
  readonly network: Uint8Array;
  readonly prefixLength: number;
}

/** `istio.security.ServiceAccountMatch`: the source identity's namespace and service account, exactly (any trust domain). */
export interface ServiceAccountMatchIR {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * One L4 match: fields are ANDed; values within a field are ORed. Mirrors the workload API's
 * `istio.security.Match`. Principals are matched without the `spiffe://` scheme, as ztunnel does.
 * A match with every field empty matches nothing (ztunnel skips it), never everything.
 */
export interface L4MatchIR {
  readonly namespaces: readonly StringMatchIR[];
  readonly notNamespaces: readonly StringMatchIR[];
  readonly serviceAccounts: readonly ServiceAccountMatchIR[];
  readonly notServiceAccounts: readonly ServiceAccountMatchIR[];
  readonly principals: readonly StringMatchIR[];
  readonly notPrincipals: readonly StringMatchIR[];
  readonly sourceIps: readonly CidrIR[];
  readonly notSourceIps: readonly CidrIR[];
  readonly destinationIps: readonly CidrIR[];
  readonly notDestinationIps: readonly CidrIR[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
}

/**
 * rules (OR) → clauses (AND) → matches (OR), as the workload API's `Authorization`. No rules: the
 * policy matches nothing; a rule without clauses matches everything; a clause without matches is
 * satisfied; a clause whose matches are all empty is not (ztunnel src/rbac.rs).
 */
export type L4RulesIR = readonly (readonly (readonly L4MatchIR[])[])[];

export type L4PolicyScope =
  /** In the mesh root namespace without a selector: applies to every workload. */
  | { readonly kind: 'global' }
  /** No selector: applies to every workload of the namespace. */
  | { readonly kind: 'namespace' }
  /** `selector.matchLabels` of the policy's namespace. */
  | { readonly kind: 'selector'; readonly matchLabels: Readonly<Record<string, string>> };

/** An AuthorizationPolicy as enforced by the destination ztunnel (selector or namespace scoped). */
export interface L4PolicyIR {
  readonly name: string;
  readonly namespace: string;
  readonly scope: L4PolicyScope;
  readonly action: 'ALLOW' | 'DENY';
  readonly rules: L4RulesIR;
  /** `istio.io/dry-run` annotation: evaluate and log, never enforce. */
  readonly dryRun: boolean;
  readonly origin: Origin;
}

/** Mesh-wide settings (MeshConfig subset). */
export interface MeshIR {
  readonly trustDomain: string;
  readonly clusterDomain: string;
  /** Namespace whose selector-less policies apply mesh-wide (Istio's root namespace). */
  readonly rootNamespace: string;
  /** MeshConfig `pathNormalization.normalization`; absent = Istio's default `BASE`. */
  readonly pathNormalization?: PathNormalizationIR;
  /** MeshConfig `defaultHttpRetryPolicy`; absent = Istio's default retry (`src/config/mesh-retry-policy.ts`). */
  readonly defaultHttpRetry?: RouteRetryIR;
  /**
   * `extensionProviders[]` with `envoyFileAccessLog`, by name → encoding (`logFormat.labels` =
   * JSON, else text). The built-in `envoy` provider is always there (`ir-telemetry.ts`).
   */
  readonly accessLogProviders?: Readonly<Record<string, AccessLogEncodingIR>>;
  /** Custom line formats of those providers (`logFormat.text`/`labels`; `envoy`: `accessLogFormat`), by name. */
  readonly accessLogFormats?: Readonly<Record<string, LogFormatIR>>;
  /** `extensionProviders[].opentelemetry`, `defaultProviders.tracing`, `enableTracing`, `defaultConfig.tracing.sampling`. */
  readonly tracing?: MeshTracingIR;
  /** `extensionProviders[]` with `envoyExtAuthzHttp`/`envoyExtAuthzGrpc`, by name (CUSTOM authz). */
  readonly extAuthzProviders?: Readonly<Record<string, ExtAuthzProviderIR>>;
}

/**
 * One immutable, complete view of the mesh. Built by {@link import('../state/snapshot-store.js')}
 * from the translated objects of every source; the data path reads it through its indexes.
 */
export interface Snapshot {
  /** Increases by one per accepted change; reported by admin endpoints and metrics. */
  readonly generation: number;
  readonly mesh: MeshIR;
  readonly namespaces: ReadonlyMap<string, NamespaceIR>;
  /** Keyed by `WorkloadIR.uid`. */
  readonly workloads: ReadonlyMap<string, WorkloadIR>;
  /** Keyed by `namespace/name`. */
  readonly services: ReadonlyMap<ObjectKey, ServiceIR>;
  /** Keyed by `namespace/name`. */
  readonly waypoints: ReadonlyMap<ObjectKey, WaypointIR>;
  readonly l4Policies: readonly L4PolicyIR[];
  /** L7 routes (HTTPRoute, GRPCRoute, VirtualService), see `ir-routes.ts`. Absent = none. */
  readonly httpRoutes?: readonly HttpRouteIR[];
  /** DestinationRules resolved to Services. Absent = none. */
  readonly destinationRules?: readonly DestinationRuleIR[];
  /** AuthorizationPolicies attached to waypoints by targetRefs, see `ir-security.ts`. Absent = none. */
  readonly l7Policies?: readonly L7PolicyIR[];
  /** RequestAuthentications attached to waypoints by targetRefs. Absent = none. */
  readonly requestAuthns?: readonly RequestAuthnIR[];
  /** Telemetry API objects (access logging), see `ir-telemetry.ts`. Absent = none. */
  readonly telemetries?: readonly TelemetryIR[];
  /** WasmPlugins attached to waypoints by targetRefs, see `ir-wasm.ts`. Absent = none. */
  readonly wasmPlugins?: readonly WasmPluginIR[];
  /** PeerAuthentications (mTLS mode of plaintext inbound at the ztunnel), see `ir-security.ts`. Absent = none. */
  readonly peerAuthns?: readonly PeerAuthnIR[];
}

export const DEFAULT_MESH: MeshIR = Object.freeze({
  trustDomain: 'cluster.local',
  clusterDomain: 'cluster.local',
  rootNamespace: 'istio-system',
});

/** The HBONE port every ztunnel and waypoint listens on. */
export const HBONE_PORT = 15008;

export function objectKey(namespace: string, name: string): ObjectKey {
  return `${namespace}/${name}`;
}
