/**
 * The retry state of one request, as Envoy's router keeps it (`RetryStateImpl`): which conditions
 * retry, how many retries are left, and the decision after each failed attempt.
 *
 * Conditions come from the route's policy, ORed with the request's `x-envoy-retry-on` and
 * `x-envoy-retry-grpc-on` headers; `x-envoy-max-retries` replaces the retry count (only when some
 * condition is on); `x-envoy-retriable-status-codes` and `x-envoy-retriable-header-names` add to
 * the policy's lists. The mesh's clients are internal, so Envoy honours all of them.
 *
 * Decisions (router_filter.rst, `wouldRetryFromHeaders` / `wouldRetryFromReset`):
 * - response headers: `5xx` any 5xx; `gateway-error` 502/503/504; `retriable-4xx` 409;
 *   `retriable-status-codes` a listed code; `retriable-headers` a listed header present; gRPC
 *   `cancelled`(1) `deadline-exceeded`(4) `resource-exhausted`(8) `internal`(13) `unavailable`(14)
 *   from a `grpc-status` in the response *headers*. A response marked `x-envoy-overloaded` is
 *   never retried.
 * - no response: `connect-failure` on a connection failure; `reset-before-request` when the
 *   request never reached a connection; `5xx`, `gateway-error` and `reset` on any reset or
 *   connection failure (and on a per-try timeout); `refused-stream` on an HTTP/2 REFUSED_STREAM.
 * - a condition holds but no retry is left: `limit` (the caller flags `URX`).
 */
import type { HeaderMap } from '../filter/header-map.js';
import type { RetryCondition, RetryPolicy } from '../waypoint/router.js';
import { backoffMs } from './backoff.js';

const ON_5XX = 1 << 0;
const ON_GATEWAY_ERROR = 1 << 1;
const ON_CONNECT_FAILURE = 1 << 2;
const ON_RETRIABLE_4XX = 1 << 3;
const ON_REFUSED_STREAM = 1 << 4;
const ON_RETRIABLE_STATUS_CODES = 1 << 5;
const ON_RESET = 1 << 6;
const ON_RETRIABLE_HEADERS = 1 << 7;
const ON_RESET_BEFORE_REQUEST = 1 << 8;
const GRPC_CANCELLED = 1 << 9;
const GRPC_DEADLINE_EXCEEDED = 1 << 10;
const GRPC_RESOURCE_EXHAUSTED = 1 << 11;
const GRPC_INTERNAL = 1 << 12;
const GRPC_UNAVAILABLE = 1 << 13;

const BITS: Readonly<Record<RetryCondition, number>> = {
  '5xx': ON_5XX,
  'gateway-error': ON_GATEWAY_ERROR,
  'connect-failure': ON_CONNECT_FAILURE,
  'retriable-4xx': ON_RETRIABLE_4XX,
  'refused-stream': ON_REFUSED_STREAM,
  'retriable-status-codes': ON_RETRIABLE_STATUS_CODES,
  reset: ON_RESET,
  'retriable-headers': ON_RETRIABLE_HEADERS,
  'reset-before-request': ON_RESET_BEFORE_REQUEST,
  cancelled: GRPC_CANCELLED,
  'deadline-exceeded': GRPC_DEADLINE_EXCEEDED,
  'resource-exhausted': GRPC_RESOURCE_EXHAUSTED,
  internal: GRPC_INTERNAL,
  unavailable: GRPC_UNAVAILABLE,
};

const GRPC_BITS: ReadonlyMap<string, number> = new Map([
  ['cancelled', GRPC_CANCELLED],
  ['deadline-exceeded', GRPC_DEADLINE_EXCEEDED],
  ['resource-exhausted', GRPC_RESOURCE_EXHAUSTED],
  ['internal', GRPC_INTERNAL],
  ['unavailable', GRPC_UNAVAILABLE],
]);

/** Conditions that need the upstream to have seen (part of) the request: a replay needs the body. */
const NEEDS_REPLAY = ~(ON_CONNECT_FAILURE | ON_RESET_BEFORE_REQUEST);

export const MAX_RETRIES_HEADER = 'x-envoy-max-retries';
export const RETRY_ON_HEADER = 'x-envoy-retry-on';
export const RETRY_GRPC_ON_HEADER = 'x-envoy-retry-grpc-on';
export const RETRIABLE_STATUS_CODES_HEADER = 'x-envoy-retriable-status-codes';
export const RETRIABLE_HEADER_NAMES_HEADER = 'x-envoy-retriable-header-names';

/** Why an attempt ended without a usable response. */
export type AttemptFailure =
  /** The connection (or HBONE tunnel) to the endpoint could not be opened. */
  | 'connect-failure'
  /** The request was never put on a connection. */
  | 'reset-before-request'
  /** The stream or connection was reset after the request started. */
  | 'reset'
  /** HTTP/2 REFUSED_STREAM from the upstream. */
  | 'refused-stream'
  /** The per-try timeout fired (Envoy treats it as a local reset). */
  | 'per-try-timeout'
  /** The request itself cannot be written (an invalid header value): never retried. */
  | 'invalid-request';

/** `retry`: go again; `limit`: a condition held but no retry is left (`URX`); `none`: not retriable. */
export type RetryDecision = 'retry' | 'limit' | 'none';

const DECIMAL = /^\d{1,9}$/;

function bitsOf(list: string | undefined, table: (token: string) => number | undefined): number {
  if (list === undefined) return 0;
  let bits = 0;
  for (const raw of list.split(',')) {
    const b = table(raw.trim());
    if (b !== undefined) bits |= b;
  }
  return bits;
}

const httpBit = (t: string): number | undefined => (Object.prototype.hasOwnProperty.call(BITS, t) ? BITS[t as RetryCondition] : undefined);
const grpcBit = (t: string): number | undefined => GRPC_BITS.get(t);

export class RetryState {
  /** Retries done so far. */
  retries = 0;
  private remaining: number;

  private constructor(
    private readonly on: number,
    maxRetries: number,
    private readonly codes: readonly number[],
    private readonly headerNames: readonly string[],
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {
    this.remaining = maxRetries;
  }

  /**
   * The state for one request, or `undefined` when nothing can be retried (no condition on):
   * the common case costs no object when the route has no retry policy and no header asks.
   */
  static forRequest(policy: RetryPolicy, headers: HeaderMap): RetryState | undefined {
    let on = 0;
    for (const c of policy.retryOn) on |= BITS[c];
    const onHeader = headers.get(RETRY_ON_HEADER);
    const grpcHeader = headers.get(RETRY_GRPC_ON_HEADER);
    if (onHeader !== undefined) on |= bitsOf(onHeader, httpBit);
    if (grpcHeader !== undefined) on |= bitsOf(grpcHeader, grpcBit);
    if (on === 0) return undefined;
    // A policy written without a count retries once (Envoy's `num_retries` default); the route
    // layer already resolved Istio's defaults into `numRetries`.
    let max = policy.numRetries;
    const maxHeader = headers.get(MAX_RETRIES_HEADER);
    if (maxHeader !== undefined && DECIMAL.test(maxHeader.trim())) max = Number(maxHeader.trim());
    let codes = policy.retriableStatusCodes;
    const codesHeader = headers.get(RETRIABLE_STATUS_CODES_HEADER);
    if (codesHeader !== undefined) {
      const extra = codesHeader.split(',').map((c) => Number(c.trim())).filter((c) => Number.isInteger(c) && c >= 100 && c < 600);
      if (extra.length > 0) codes = [...codes, ...extra];
    }
    const namesHeader = headers.get(RETRIABLE_HEADER_NAMES_HEADER);
    const names = namesHeader === undefined ? NO_NAMES : namesHeader.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
    return new RetryState(on, max, codes, names, policy.backoffBaseMs, policy.backoffMaxMs);
  }

  /** True when a retry could need the request body again (so it must be kept for replay). */
  get needsReplay(): boolean {
    return this.remaining > 0 && (this.on & NEEDS_REPLAY) !== 0;
  }

  /** Retries still allowed. */
  get retriesLeft(): number {
    return this.remaining;
  }

  /** After response headers: retry, limit or none. */
  onHeaders(status: number, headers: HeaderMap): RetryDecision {
    return this.decide(this.wouldRetryHeaders(status, headers));
  }

  /** After an attempt ended without response headers. */
  onFailure(kind: AttemptFailure): RetryDecision {
    return this.decide(this.wouldRetryFailure(kind));
  }

  /** Consumes one retry (call once the retry is really going to happen). */
  take(): void {
    this.remaining--;
    this.retries++;
  }

  /** The back-off before the retry about to happen (`retries` already counts it). */
  backoffMs(random: () => number): number {
    return backoffMs(this.retries, this.baseMs, this.maxMs, random);
  }

  private decide(would: boolean): RetryDecision {
    if (!would) return 'none';
    return this.remaining > 0 ? 'retry' : 'limit';
  }

  private wouldRetryHeaders(status: number, headers: HeaderMap): boolean {
    // The upstream said it is overloaded: retrying would only add load (Envoy never does).
    if (headers.has('x-envoy-overloaded')) return false;
    const on = this.on;
    if (on & ON_5XX && status >= 500) return true;
    if (on & ON_GATEWAY_ERROR && (status === 502 || status === 503 || status === 504)) return true;
    if (on & ON_RETRIABLE_4XX && status === 409) return true;
    if (on & ON_RETRIABLE_STATUS_CODES && this.codes.includes(status)) return true;
    if (on & ON_RETRIABLE_HEADERS) {
      for (const n of this.headerNames) if (headers.has(n)) return true;
    }
    if (on & (GRPC_CANCELLED | GRPC_DEADLINE_EXCEEDED | GRPC_RESOURCE_EXHAUSTED | GRPC_INTERNAL | GRPC_UNAVAILABLE)) {
      const g = headers.get('grpc-status');
      if (g !== undefined) {
        switch (g.trim()) {
          case '1':
            return (on & GRPC_CANCELLED) !== 0;
          case '4':
            return (on & GRPC_DEADLINE_EXCEEDED) !== 0;
          case '8':
            return (on & GRPC_RESOURCE_EXHAUSTED) !== 0;
          case '13':
            return (on & GRPC_INTERNAL) !== 0;
          case '14':
            return (on & GRPC_UNAVAILABLE) !== 0;
          default:
            return false;
        }
      }
    }
    return false;
  }

  private wouldRetryFailure(kind: AttemptFailure): boolean {
    const on = this.on;
    if (kind === 'invalid-request') return false;
    if (kind === 'connect-failure' && on & ON_CONNECT_FAILURE) return true;
    if ((kind === 'connect-failure' || kind === 'reset-before-request') && on & ON_RESET_BEFORE_REQUEST) return true;
    if (on & (ON_5XX | ON_GATEWAY_ERROR | ON_RESET)) return true;
    return kind === 'refused-stream' && (on & ON_REFUSED_STREAM) !== 0;
  }
}

const NO_NAMES: readonly string[] = Object.freeze([]);
