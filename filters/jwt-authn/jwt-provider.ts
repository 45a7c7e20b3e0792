/**
 * The JWT filter's configuration: the providers (`jwtRules`) of the RequestAuthentications that
 * apply to one service port. Structurally the engine's `JwtRuleIR` (src/config/ir-security.ts),
 * so the engine passes its IR as is while this filter imports only the filter API.
 */
export interface JwtProvider {
  readonly issuer: string;
  /** Empty: `aud` is not checked. */
  readonly audiences: readonly string[];
  readonly jwks:
    | { readonly kind: 'inline'; readonly jwks: string }
    | { readonly kind: 'remote'; readonly uri: string; readonly timeoutMs: number; readonly discovery?: boolean };
  /** Lowercase header names; the token follows `prefix`. */
  readonly fromHeaders: readonly { readonly name: string; readonly prefix: string }[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  readonly outputPayloadToHeader?: string;
  readonly outputClaimToHeaders: readonly { readonly header: string; readonly claim: string }[];
  readonly forwardOriginalToken: boolean;
  /** Claims split on spaces for policy matching; absent: `permission` and `scope` (Istio's default). */
  readonly spaceDelimitedClaims?: readonly string[];
}
