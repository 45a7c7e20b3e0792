/**
 * The request-authentication result one filter publishes and later filters read, through the
 * stream's filter state (`StreamInfo.filterState()`): the JWT filter writes it, authorization (and
 * Wasm properties) read it. Declared here, in the filter API, because filters may not import each
 * other.
 *
 * Mirrors what Istio's authn filter derives from Envoy's `jwt_authn` payload metadata:
 * `request.auth.principal` = `<iss>/<sub>`, `audiences`, `presenter` (`azp`) and `claims`.
 */
import type { StreamInfo } from './api.js';

/** The filter-state key under which the verified JWT's facts are stored. */
export const REQUEST_AUTH_STATE_KEY = 'istio.request.auth';

export interface RequestAuth {
  /** `<iss>/<sub>` of the first verified token. */
  readonly principal: string;
  /** The token's `aud` (a string `aud` becomes a one-item list). */
  readonly audiences: readonly string[];
  /** The `azp` claim, when present. */
  readonly presenter?: string;
  /** The verified payload (JSON object). */
  readonly claims: Readonly<Record<string, unknown>>;
}

export function setRequestAuth(info: StreamInfo, auth: RequestAuth): void {
  info.filterState().set(REQUEST_AUTH_STATE_KEY, auth);
}

/** The verified request identity, if a JWT filter accepted a token for this request. */
export function requestAuthOf(info: StreamInfo): RequestAuth | undefined {
  const v = info.filterState().get(REQUEST_AUTH_STATE_KEY);
  return isRequestAuth(v) ? v : undefined;
}

function isRequestAuth(v: unknown): v is RequestAuth {
  return typeof v === 'object' && v !== null && typeof (v as { principal?: unknown }).principal === 'string';
}
