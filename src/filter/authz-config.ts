/**
 * The authorization filter's configuration contract: the L7 AuthorizationPolicies that apply to one
 * service port, as plain data. The filter API publishes it so that the filter (which imports only
 * `src/filter/`) and the engine's IR (`src/config/ir-security.ts`, which aliases these types) share
 * one definition, and the engine hands its IR objects to the filter as they are.
 *
 * Semantics follow Istio's AuthorizationPolicy reference: a policy matches when any rule matches;
 * a rule when one `from` (or none given), one `to` (or none) and every `when` match; a source or
 * operation when every field it sets matches (values ORed; `not*` fields match when no value does).
 */

/** Istio's `*` forms: exact, `x*` prefix, `*x` suffix, `*` presence (non-empty value). */
export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'suffix'; readonly value: string }
  | { readonly kind: 'presence' };

/**
 * A path value: Istio's string forms, or (Istio 1.22+) an Envoy URI template when it contains
 * `{*}` (one path segment: one or more characters other than `/`) or `{**}` (zero or more
 * characters, `/` included; the last operator). `value` is the template as written, validated.
 */
export type PathMatch = StringMatch | { readonly kind: 'template'; readonly value: string };

/** A pre-parsed CIDR; the engine supplies the containment test (`AuthzDeps.ipInCidr`). */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly network: Uint8Array;
  readonly prefixLength: number;
}

/**
 * `rules[].from[].source`. Fields are ANDed, values of one field ORed; a `not*` field matches when
 * none of its values does. Empty lists impose nothing. Principals are compared without `spiffe://`.
 */
export interface AuthzSource {
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  /** `<iss>/<sub>` of the verified JWT (RequestAuthentication). */
  readonly requestPrincipals: readonly StringMatch[];
  readonly notRequestPrincipals: readonly StringMatch[];
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  /** The direct peer address. */
  readonly ipBlocks: readonly Cidr[];
  readonly notIpBlocks: readonly Cidr[];
  /**
   * The original client address. With Istio's default `numTrustedProxies: 0` that is the direct
   * peer too: `x-forwarded-for` is never trusted, so a client cannot forge it.
   */
  readonly remoteIpBlocks: readonly Cidr[];
  readonly notRemoteIpBlocks: readonly Cidr[];
  /** The peer identity's trust domain (`trustDomains`, Istio 1.29+); absent = not set. */
  readonly trustDomains?: readonly StringMatch[];
  readonly notTrustDomains?: readonly StringMatch[];
}

/** `rules[].to[].operation`. Hosts are lowercase (matched case-insensitively). */
export interface AuthzOperation {
  readonly hosts: readonly StringMatch[];
  readonly notHosts: readonly StringMatch[];
  /** Destination (service) ports. */
  readonly ports: readonly number[];
  readonly notPorts: readonly number[];
  readonly methods: readonly StringMatch[];
  readonly notMethods: readonly StringMatch[];
  /** Matched against the normalized path without its query. */
  readonly paths: readonly PathMatch[];
  readonly notPaths: readonly PathMatch[];
}

/** A `when` key whose value is a string (or list of strings, for list claims and audiences). */
export type AuthzStringKey =
  | { readonly kind: 'request.headers'; readonly header: string }
  | { readonly kind: 'source.namespace' }
  | { readonly kind: 'source.principal' }
  /** The trust domain of the peer identity (`spiffe://<td>/...`). */
  | { readonly kind: 'source.trustDomain' }
  | { readonly kind: 'request.auth.principal' }
  | { readonly kind: 'request.auth.audiences' }
  | { readonly kind: 'request.auth.presenter' }
  /** `request.auth.claims[a][b]`: a path into nested claims. */
  | { readonly kind: 'request.auth.claims'; readonly path: readonly string[] }
  | { readonly kind: 'connection.sni' };

/** One `when` condition: matches when the key's value matches a value and no `notValue`. */
export type AuthzCondition =
  | {
      readonly type: 'string';
      /** The key as written, for logs and dumps. */
      readonly keyText: string;
      readonly key: AuthzStringKey;
      readonly values: readonly StringMatch[];
      readonly notValues: readonly StringMatch[];
    }
  | {
      readonly type: 'ip';
      readonly keyText: string;
      readonly key: 'source.ip' | 'remote.ip' | 'destination.ip';
      readonly values: readonly Cidr[];
      readonly notValues: readonly Cidr[];
    }
  | {
      readonly type: 'port';
      readonly keyText: string;
      readonly key: 'destination.port';
      readonly values: readonly number[];
      readonly notValues: readonly number[];
    };

/** One rule: any `from` (OR; none = any source) AND any `to` (OR; none = any) AND every `when`. */
export interface AuthzRule {
  readonly from: readonly AuthzSource[];
  readonly to: readonly AuthzOperation[];
  readonly when: readonly AuthzCondition[];
}

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthzPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly action: AuthzAction;
  readonly rules: readonly AuthzRule[];
  readonly dryRun: boolean;
  /**
   * Set for a policy attached only to HTTPRoutes (our extension): it applies to a request only
   * when the request's route decision came from one of these routes (`namespace/name` keys).
   */
  readonly routes?: readonly string[];
}
