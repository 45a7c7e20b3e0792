/**
 * The timeouts of one request, as Envoy's router works them out (`FilterUtility::finalTimeout`):
 *
 * - the route timeout (HTTPRoute `timeouts.request`, VirtualService `timeout`) bounds the whole
 *   request including retries; 0 = none (Istio's default route has none);
 * - the per-try timeout (HTTPRoute `timeouts.backendRequest`, VirtualService
 *   `retries.perTryTimeout`) bounds each attempt until its response headers;
 * - a request header `x-envoy-upstream-rq-timeout-ms` replaces the route timeout and
 *   `x-envoy-upstream-rq-per-try-timeout-ms` the per-try one (Envoy honours them from mesh peers);
 *   both are removed before the request goes upstream;
 * - when a timeout applies, `x-envoy-expected-rq-timeout-ms` tells the upstream how long it has:
 *   the per-try timeout when it is shorter than the route timeout, else the route timeout.
 */
import type { HeaderMap } from '../filter/header-map.js';
import type { RouteDecision } from './router.js';

export const RQ_TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';
export const RQ_PER_TRY_TIMEOUT_HEADER = 'x-envoy-upstream-rq-per-try-timeout-ms';
export const EXPECTED_TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';

export interface RequestTimeouts {
  /** Route timeout over all attempts; 0 = none. */
  readonly routeMs: number;
  /** Per-attempt timeout; 0 = none. */
  readonly perTryMs: number;
}

export const NO_TIMEOUTS: RequestTimeouts = Object.freeze({ routeMs: 0, perTryMs: 0 });

const DECIMAL_MS = /^\d{1,10}$/;

/** A header value of plain decimal milliseconds; anything else is ignored, as Envoy does. */
function headerMs(headers: HeaderMap, name: string): number | undefined {
  const v = headers.get(name);
  if (v === undefined) return undefined;
  headers.delete(name);
  if (!DECIMAL_MS.test(v)) return undefined;
  return Number(v);
}

/**
 * The timeouts of a routed request; consumes the override headers and sets the expected-timeout
 * header on `headers` (the request that goes upstream).
 */
export function requestTimeouts(decision: RouteDecision, headers: HeaderMap): RequestTimeouts {
  const routeMs = headerMs(headers, RQ_TIMEOUT_HEADER) ?? decision.timeoutMs;
  let perTryMs = headerMs(headers, RQ_PER_TRY_TIMEOUT_HEADER) ?? decision.retry.perTryTimeoutMs;
  // A per-try timeout at or above the route timeout never fires first: Envoy ignores it.
  if (routeMs > 0 && perTryMs >= routeMs) perTryMs = 0;
  const expected = perTryMs > 0 ? perTryMs : routeMs;
  if (expected > 0) headers.set(EXPECTED_TIMEOUT_HEADER, String(expected));
  else headers.delete(EXPECTED_TIMEOUT_HEADER);
  if (routeMs === 0 && perTryMs === 0) return NO_TIMEOUTS;
  return { routeMs, perTryMs };
}
