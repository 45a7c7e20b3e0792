/**
 * The IR of L7 security at the waypoint: AuthorizationPolicy and RequestAuthentication attached by
 * `targetRefs` (issue 5). Kept apart from `ir.ts` so the security model reads as one unit and the
 * other IR sections can grow in parallel; `Snapshot` (ir.ts) holds the lists.
 *
 * Everything is plain immutable data, as in `ir.ts`. Matchers are compiled from it once per
 * snapshot by the waypoint's chain provider (`src/security/`), never per request.
 */
import type { CidrIR, Origin, StringMatchIR } from './ir.js';

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
 * `rules[].from[].source`. Fields are ANDed, values of one field ORed; a `not*` field matches when
 * none of its values does. Empty lists impose nothing. Principals are compared without `spiffe://`.
 */
export interface L7SourceIR {
  readonly principals: readonly StringMatchIR[];
  readonly notPrincipals: readonly StringMatchIR[];
  /** `<iss>/<sub>` of the verified JWT (RequestAuthentication). */
  readonly requestPrincipals: readonly StringMatchIR[];
  readonly notRequestPrincipals: readonly StringMatchIR[];
  readonly namespaces: readonly StringMatchIR[];
  readonly notNamespaces: readonly StringMatchIR[];
  /** The direct peer address. */
  readonly ipBlocks: readonly CidrIR[];
  readonly notIpBlocks: readonly CidrIR[];
  /**
   * The original client address. With Istio's default `numTrustedProxies: 0` that is the direct
   * peer too: `x-forwarded-for` is never trusted, so a client cannot forge it.
   */
  readonly remoteIpBlocks: readonly CidrIR[];
  readonly notRemoteIpBlocks: readonly CidrIR[];
}

/** `rules[].to[].operation`. Hosts are lowercase (matched case-insensitively). */
export interface L7OperationIR {
  readonly hosts: readonly StringMatchIR[];
  readonly notHosts: readonly StringMatchIR[];
  /** Destination (service) ports. */
  readonly ports: readonly number[];
  readonly notPorts: readonly number[];
  readonly methods: readonly StringMatchIR[];
  readonly notMethods: readonly StringMatchIR[];
  /** Matched against the normalized path without its query. */
  readonly paths: readonly StringMatchIR[];
  readonly notPaths: readonly StringMatchIR[];
}

/** A `when` key whose value is a string (or list of strings, for list claims and audiences). */
export type StringConditionKeyIR =
  | { readonly kind: 'request.headers'; readonly header: string }
  | { readonly kind: 'source.namespace' }
  | { readonly kind: 'source.principal' }
  | { readonly kind: 'request.auth.principal' }
  | { readonly kind: 'request.auth.audiences' }
  | { readonly kind: 'request.auth.presenter' }
  /** `request.auth.claims[a][b]`: a path into nested claims. */
  | { readonly kind: 'request.auth.claims'; readonly path: readonly string[] }
  | { readonly kind: 'connection.sni' };

/** One `when` condition: matches when the key's value matches a value and no `notValue`. */
export type L7ConditionIR =
  | {
      readonly type: 'string';
      /** The key as written, for logs and dumps. */
      readonly keyText: string;
      readonly key: StringConditionKeyIR;
      readonly values: readonly StringMatchIR[];
      readonly notValues: readonly StringMatchIR[];
    }
  | {
      readonly type: 'ip';
      readonly keyText: string;
      readonly key: 'source.ip' | 'remote.ip' | 'destination.ip';
      readonly values: readonly CidrIR[];
      readonly notValues: readonly CidrIR[];
    }
  | {
      readonly type: 'port';
      readonly keyText: string;
      readonly key: 'destination.port';
      readonly values: readonly number[];
      readonly notValues: readonly number[];
    };

/** One rule: any `from` (OR; none = any source) AND any `to` (OR; none = any) AND every `when`. */
export interface L7RuleIR {
  readonly from: readonly L7SourceIR[];
  readonly to: readonly L7OperationIR[];
  readonly when: readonly L7ConditionIR[];
}

export type L7PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

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
  readonly origin: Origin;
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
  | { readonly kind: 'remote'; readonly uri: string; readonly timeoutMs: number };

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
}

export interface RequestAuthnIR {
  readonly name: string;
  readonly namespace: string;
  readonly targets: readonly PolicyTargetIR[];
  readonly jwtRules: readonly JwtRuleIR[];
  readonly origin: Origin;
}
