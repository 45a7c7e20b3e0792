/**
 * The IR of L7 security at the waypoint: AuthorizationPolicy and RequestAuthentication attached by
 * `targetRefs` (issue 5). Kept apart from `ir.ts` so the security model reads as one unit and the
 * other IR sections can grow in parallel; `Snapshot` (ir.ts) holds the lists.
 *
 * Everything is plain immutable data, as in `ir.ts`. Matchers are compiled from it once per
 * snapshot by the waypoint's chain provider (`src/security/`), never per request.
 */
import type { AuthzAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, AuthzStringKey } from '../filter/authz-config.js';
import type { ExtAuthzProvider } from '../filter/ext-authz-config.js';
import type { Origin } from './ir.js';

/**
 * What a policy attaches to (`spec.targetRefs`), as Istio waypoints read it:
 * - `Gateway` (gateway.networking.k8s.io) named in the policy's namespace: every service the
 *   waypoint fronts;
 * - `Service` (core) in the policy's namespace: that service only, at whichever waypoint serves it;
 * - `GatewayClass` `istio-waypoint`, from the root namespace only: every waypoint of the mesh.
 */
/**
 * MeshConfig `pathNormalization.normalization`: how request paths are normalized before policy
 * and routing (Istio's default: `BASE`). See `src/security/path-normalization.ts`.
 */
export type PathNormalizationIR = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export type PolicyTargetIR =
  | { readonly kind: 'Gateway'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'Service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'GatewayClass'; readonly name: string };

/**
 * Rules, sources, operations and `when` conditions of an L7 policy: the authorization filter's
 * configuration contract (`src/filter/authz-config.ts`), defined once there so the filter and the
 * IR cannot drift. Principals are compared without `spiffe://`; hosts are lowercase; paths are
 * matched after normalization, without the query.
 */
export type L7SourceIR = AuthzSource;
export type L7OperationIR = AuthzOperation;
export type StringConditionKeyIR = AuthzStringKey;
export type L7ConditionIR = AuthzCondition;
export type L7RuleIR = AuthzRule;
export type L7PolicyAction = AuthzAction;

/** An AuthorizationPolicy enforced by waypoints (attached by `targetRefs`). */
export interface L7PolicyIR {
  readonly name: string;
  readonly namespace: string;
  readonly targets: readonly PolicyTargetIR[];
  readonly action: L7PolicyAction;
  /** CUSTOM only: the extension provider's name. */
  readonly provider?: string;
  /** No rules: the policy matches nothing (an ALLOW policy then denies everything). */
  readonly rules: readonly L7RuleIR[];
  /** `istio.io/dry-run`: evaluated and logged, never enforced. */
  readonly dryRun: boolean;
  /**
   * `targetRefs` to HTTPRoutes in the policy's namespace (our extension, Istio requests 59328 and
   * 60531): the policy also applies to every request routed by one of them.
   */
  readonly routeTargets?: readonly RouteTargetIR[];
  readonly origin: Origin;
}

/** An HTTPRoute a policy is attached to. */
export interface RouteTargetIR {
  readonly namespace: string;
  readonly name: string;
}

/** `jwtRules[].fromHeaders[]`: the token is the header value after `prefix`. */
export interface JwtHeaderLocationIR {
  /** Lowercase header name. */
  readonly name: string;
  readonly prefix: string;
}

export interface JwtClaimToHeaderIR {
  readonly header: string;
  readonly claim: string;
}

/** Where a JWT provider's keys come from. */
export type JwksSourceIR =
  /** `jwks`: inline JSON Web Key Set text, validated at translation. */
  | { readonly kind: 'inline'; readonly jwks: string }
  /** `jwksUri`: fetched over HTTPS (or HTTP on loopback), cached and refreshed. */
  | {
      readonly kind: 'remote';
      /** The JWKS URL, or with `discovery` the issuer's OpenID configuration URL. */
      readonly uri: string;
      readonly timeoutMs: number;
      /** No `jwks`/`jwksUri`: `uri` is `<issuer>/.well-known/openid-configuration`, whose `jwks_uri` names the set. */
      readonly discovery?: boolean;
    };

/** One `jwtRules[]` entry: a JWT provider. */
export interface JwtRuleIR {
  readonly issuer: string;
  /** Empty: `aud` is not checked. */
  readonly audiences: readonly string[];
  readonly jwks: JwksSourceIR;
  /**
   * Token locations. When `fromHeaders`, `fromParams` and `fromCookies` are all unset, Envoy's
   * default applies: `Authorization: Bearer <token>`, then the `access_token` query parameter.
   */
  readonly fromHeaders: readonly JwtHeaderLocationIR[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  /** Header to receive the base64url payload of a verified token. */
  readonly outputPayloadToHeader?: string;
  readonly outputClaimToHeaders: readonly JwtClaimToHeaderIR[];
  /** False (default): the token is removed before the request goes upstream. */
  readonly forwardOriginalToken: boolean;
  /**
   * Top-level claims split on spaces into lists for `request.auth.claims[...]` matching
   * (Envoy's `normalize_payload_in_metadata.space_delimited_claims`): Istio always includes
   * `permission` and `scope` and adds `jwtRules[].spaceDelimitedClaims`. Absent: those two.
   */
  readonly spaceDelimitedClaims?: readonly string[];
}

export interface RequestAuthnIR {
  readonly name: string;
  readonly namespace: string;
  readonly targets: readonly PolicyTargetIR[];
  readonly jwtRules: readonly JwtRuleIR[];
  readonly origin: Origin;
}

/**
 * A MeshConfig ext_authz extension provider (`envoyExtAuthzHttp` / `envoyExtAuthzGrpc`), the
 * filter's contract type (`src/filter/ext-authz-config.ts`).
 */
export type ExtAuthzProviderIR = ExtAuthzProvider;

/**
 * PeerAuthentication `mtls.mode`. `UNSET` inherits from the parent level (workload → namespace →
 * mesh); a mesh level that is unset (or absent) means `PERMISSIVE`, Istio's default.
 */
export type MtlsModeIR = 'UNSET' | 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** Which workloads a PeerAuthentication covers (Istio: root namespace → mesh, no selector → namespace). */
export type PeerAuthnScopeIR =
  | { readonly kind: 'mesh' }
  | { readonly kind: 'namespace' }
  | { readonly kind: 'selector'; readonly matchLabels: Readonly<Record<string, string>> };

/** A `security.istio.io/v1 PeerAuthentication`, enforced by the destination ztunnel on plaintext inbound. */
export interface PeerAuthnIR {
  readonly name: string;
  readonly namespace: string;
  readonly scope: PeerAuthnScopeIR;
  readonly mode: MtlsModeIR;
  /** `portLevelMtls` (selector policies only): workload (target) port → mode; `UNSET` inherits the policy's effective mode. */
  readonly portLevel: Readonly<Record<number, MtlsModeIR>>;
  /** `metadata.creationTimestamp` in ms, 0 when absent: among equals the oldest wins. */
  readonly createdAt: number;
  readonly origin: Origin;
}
