/**
 * Envoy's retry back-off (`JitteredExponentialBackOffStrategy`, router retry state): "fully
 * jittered" exponential. Retry N (1-based) waits a uniformly random time in
 * `[0, min((2^N − 1) · base, max))`: 0–24 ms, 0–74 ms, 0–174 ms... with the defaults, base 25 ms
 * (`upstream.base_retry_backoff_ms`) and max 10 × base (250 ms) unless the route sets them.
 */

/** Envoy's default `base_interval` (ms). */
export const DEFAULT_BACKOFF_BASE_MS = 25;
/** Envoy's default `max_interval` is ten times the base. */
export const BACKOFF_MAX_FACTOR = 10;

/**
 * The upper bound (exclusive) of the wait before retry `retry` (1-based): the delay is uniform in
 * `[0, bound)`.
 */
export function backoffBoundMs(retry: number, baseMs: number, maxMs: number): number {
  // 2^31 already exceeds any sensible cap; stop doubling there so the math stays exact.
  const multiplier = retry >= 31 ? Number.MAX_SAFE_INTEGER : 2 ** retry - 1;
  return multiplier > maxMs / baseMs ? maxMs : multiplier * baseMs;
}

/** The wait before retry `retry` (1-based), in whole milliseconds; `random` in [0, 1). */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const bound = backoffBoundMs(retry, baseMs, maxMs);
  if (bound <= 0) return 0;
  // Envoy: `random() % bound`, then capped at max.
  return Math.min(Math.floor(random() * bound), maxMs);
}
