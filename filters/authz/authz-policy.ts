/**
 * The authorization filter's configuration: the L7 AuthorizationPolicies that apply to one service
 * port, as plain data. The shapes mirror the engine's IR (`src/config/ir-security.ts`) structurally,
 * so the engine passes its IR objects as they are, while this filter imports only the filter API.
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

/** A pre-parsed CIDR; the engine supplies the containment test (`AuthzDeps.ipInCidr`). */
export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  readonly network: Uint8Array;
  readonly prefixLength: number;
}

export interface AuthzSource {
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  readonly requestPrincipals: readonly StringMatch[];
  readonly notRequestPrincipals: readonly StringMatch[];
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  readonly ipBlocks: readonly Cidr[];
  readonly notIpBlocks: readonly Cidr[];
  readonly remoteIpBlocks: readonly Cidr[];
  readonly notRemoteIpBlocks: readonly Cidr[];
}

export interface AuthzOperation {
  /** Lowercase. */
  readonly hosts: readonly StringMatch[];
  readonly notHosts: readonly StringMatch[];
  readonly ports: readonly number[];
  readonly notPorts: readonly number[];
  readonly methods: readonly StringMatch[];
  readonly notMethods: readonly StringMatch[];
  readonly paths: readonly StringMatch[];
  readonly notPaths: readonly StringMatch[];
}

export type AuthzStringKey =
  | { readonly kind: 'request.headers'; readonly header: string }
  | { readonly kind: 'source.namespace' }
  | { readonly kind: 'source.principal' }
  | { readonly kind: 'request.auth.principal' }
  | { readonly kind: 'request.auth.audiences' }
  | { readonly kind: 'request.auth.presenter' }
  | { readonly kind: 'request.auth.claims'; readonly path: readonly string[] }
  | { readonly kind: 'connection.sni' };

export type AuthzCondition =
  | { readonly type: 'string'; readonly keyText: string; readonly key: AuthzStringKey; readonly values: readonly StringMatch[]; readonly notValues: readonly StringMatch[] }
  | { readonly type: 'ip'; readonly keyText: string; readonly key: 'source.ip' | 'remote.ip' | 'destination.ip'; readonly values: readonly Cidr[]; readonly notValues: readonly Cidr[] }
  | { readonly type: 'port'; readonly keyText: string; readonly key: 'destination.port'; readonly values: readonly number[]; readonly notValues: readonly number[] };

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
}
