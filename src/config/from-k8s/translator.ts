/**
 * The contract between the dispatcher (`translate.ts`) and one translator per Kubernetes kind, and
 * the shape of what translators produce. Translators see one object at a time; anything that needs
 * other objects (trust domain, namespace labels, waypoint lookup, address conflicts) is finished by
 * the snapshot builder, so translated values are "drafts" of IR records.
 */
import type {
  DestinationRuleIR,
  HttpRouteIR,
  L4PolicyIR,
  MeshIR,
  NamespaceIR,
  Origin,
  ServiceIR,
  WaypointIR,
  WorkloadIR,
} from '../ir.js';
import type { ReferenceGrantIR } from '../ir-routes.js';
import type { L7PolicyIR, PeerAuthnIR, RequestAuthnIR } from '../ir-security.js';
import type { TelemetryIR } from '../ir-telemetry.js';
import type { WasmPluginIR } from '../ir-wasm.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

export interface TranslateContext {
  /**
   * Enforce the local-mesh address ranges of design §4 (pods 127.1/16, VIPs 127.100/16, waypoints
   * 127.2/16). On for the local directory; a source reading a real cluster turns it off.
   */
  readonly localRanges: boolean;
}

/** A Pod, before identity (trust domain) and tunnel protocol (namespace labels) are known. */
export type PodDraft = Omit<WorkloadIR, 'identity' | 'protocol'>;

/** A Service, before hostname (cluster domain) and waypoint binding (namespace labels, waypoints). */
export type ServiceDraft = Omit<ServiceIR, 'hostname' | 'waypoint' | 'waypointCanary'> & {
  /** Annotations the builder reads for the waypoint binding (the canary weight); absent when none. */
  readonly annotations?: Readonly<Record<string, string>>;
};

/** A waypoint Gateway, before its identity (trust domain) is known. */
export type WaypointDraft = Omit<WaypointIR, 'identity'>;

/** An L4 AuthorizationPolicy, before its scope (global needs the root namespace) is known. */
export type PolicyDraft = Omit<L4PolicyIR, 'scope'> & {
  /** `spec.selector.matchLabels`; `undefined` when the policy has no selector. */
  readonly selector: Readonly<Record<string, string>> | undefined;
  /**
   * Without a selector, the scope when the source states it (Istio's workload API `Scope`); absent,
   * it follows the namespace (global in the root namespace), as istiod derives it.
   */
  readonly unselectedScope?: 'global' | 'namespace';
};

/** An L7 (waypoint) AuthorizationPolicy; complete as translated (targets are resolved per view). */
export type L7PolicyDraft = L7PolicyIR;

/** A PeerAuthentication, before its scope (mesh needs the root namespace) is known. */
export type PeerAuthnDraft = Omit<PeerAuthnIR, 'scope'> & {
  /** `spec.selector.matchLabels`; `undefined` when the policy has no selector. */
  readonly selector: Readonly<Record<string, string>> | undefined;
};

/** A RequestAuthentication attached to waypoints by targetRefs. */
export type RequestAuthnDraft = RequestAuthnIR;

export interface ServiceAccountDraft {
  readonly name: string;
  readonly namespace: string;
}

/** Mesh settings found in the `istio` ConfigMap; unset fields keep their defaults. */
export type MeshSettingsDraft = Partial<Pick<MeshIR, 'trustDomain' | 'rootNamespace' | 'pathNormalization' | 'defaultHttpRetry' | 'accessLogProviders' | 'accessLogFormats' | 'tracing' | 'extAuthzProviders'>>;

/** What one translator returns (the dispatcher adds the {@link ObjectRef}). */
export type TranslatedValue =
  | { readonly type: 'Namespace'; readonly value: NamespaceIR }
  | { readonly type: 'ServiceAccount'; readonly value: ServiceAccountDraft }
  | { readonly type: 'Pod'; readonly value: PodDraft }
  | { readonly type: 'Service'; readonly value: ServiceDraft }
  | { readonly type: 'Waypoint'; readonly value: WaypointDraft }
  | { readonly type: 'L4Policy'; readonly value: PolicyDraft }
  | { readonly type: 'L7Policy'; readonly value: L7PolicyDraft }
  | { readonly type: 'RequestAuthn'; readonly value: RequestAuthnDraft }
  | { readonly type: 'MeshSettings'; readonly value: MeshSettingsDraft }
  /** HTTPRoute, GRPCRoute, TCPRoute or VirtualService (routing issue). */
  | { readonly type: 'HttpRoute'; readonly value: HttpRouteIR }
  | { readonly type: 'DestinationRule'; readonly value: DestinationRuleIR }
  /** Consumed by the snapshot builder (cross-namespace backendRefs); not kept in the snapshot. */
  | { readonly type: 'ReferenceGrant'; readonly value: ReferenceGrantIR }
  /** Telemetry API (`accessLogging`), see `ir-telemetry.ts`. */
  | { readonly type: 'Telemetry'; readonly value: TelemetryIR }
  /** Istio WasmPlugin attached by targetRefs, see `ir-wasm.ts`. */
  | { readonly type: 'WasmPlugin'; readonly value: WasmPluginIR }
  /** PeerAuthentication, see `peer-authentication.ts`. */
  | { readonly type: 'PeerAuthn'; readonly value: PeerAuthnDraft };

/** Which object a translated value came from, for keys, diagnostics and last-good bookkeeping. */
export interface ObjectRef {
  /** `Kind/namespace/name` (`Kind/name` for cluster-scoped kinds): unique per object. */
  readonly key: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly origin: Origin & { readonly line: number };
  /** Line of a field of the object, if present (for cross-object diagnostics from the builder). */
  readonly lineOf: (path: FieldPath) => number | undefined;
}

export type TranslatedObject = TranslatedValue & { readonly ref: ObjectRef };

/**
 * One translator per kind. `translate` returns `undefined` either because the object was rejected
 * (`reader.failed`, diagnostics recorded) or because it is deliberately not for this data plane
 * (e.g. a Gateway of another class) — the dispatcher tells them apart by `reader.failed`.
 */
export interface Translator {
  readonly kind: string;
  /** Full `apiVersion` strings accepted (`v1`, `gateway.networking.k8s.io/v1`...). */
  readonly apiVersions: readonly string[];
  /** Namespaced kinds default `metadata.namespace` to `default`, as `kubectl apply` does. */
  readonly namespaced: boolean;
  translate(reader: ObjectReader, ctx: TranslateContext): TranslatedValue | undefined;
  /**
   * For kinds whose absence widens access: what serves while a rejected object has no previous
   * version (`policy-stand-ins.ts`), read from a fresh reader of the same object.
   */
  standIn?(reader: ObjectReader): TranslatedValue | undefined;
}

export function objectRefKey(kind: string, namespace: string | undefined, name: string): string {
  return namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`;
}
