/**
 * Envoy's cluster circuit breakers (`circuit_breakers.thresholds`, default priority) from a
 * DestinationRule `connectionPool`, as Istio translates it:
 *
 * | DestinationRule                  | Envoy threshold          |
 * |----------------------------------|--------------------------|
 * | `tcp.maxConnections`             | `max_connections`        |
 * | `http.http1MaxPendingRequests`   | `max_pending_requests`   |
 * | `http.http2MaxRequests`          | `max_requests`           |
 * | `http.maxRetries`                | `max_retries`            |
 *
 * Istio leaves every threshold it is not given (or given as 0) at 2^32−1 (effectively
 * unlimited), not at Envoy's 1024/3 defaults. A request over a limit is not sent: 503 with flag `UO` and
 * `x-envoy-overloaded: true`; a retry over `max_retries` is not made (flag `UO`, the last
 * response is forwarded).
 *
 * Counting: a request is active from admission until its last attempt ends. Over HTTP/1.1 each
 * connection carries one request at a time, so active requests beyond `max_connections` are the
 * ones Envoy would hold as pending; over HTTP/2 requests multiplex and only `max_requests`
 * applies. The counters live per cluster across config snapshots, like Envoy's resource manager.
 */
import type { ConnectionPoolIR } from '../config/ir-routes.js';

/** Istio's "no limit" (2^32 − 1). */
export const UNLIMITED = 4_294_967_295;

export interface BreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

/** Thresholds of a `connectionPool` (config time). */
export function breakerThresholds(pool: ConnectionPoolIR | undefined): BreakerThresholds {
  return Object.freeze({
    maxConnections: pool?.tcp?.maxConnections || UNLIMITED,
    maxPendingRequests: pool?.http?.http1MaxPendingRequests || UNLIMITED,
    maxRequests: pool?.http?.http2MaxRequests || UNLIMITED,
    maxRetries: pool?.http?.maxRetries || UNLIMITED,
  });
}

export class CircuitBreaker {
  private requests = 0;
  private retries = 0;

  /**
   * Admits one request, or refuses it (overflow). `multiplexed`: the upstream speaks HTTP/2, so
   * no request waits for a connection of its own.
   */
  tryRequest(t: BreakerThresholds, multiplexed: boolean): boolean {
    if (this.requests >= t.maxRequests) return false;
    if (!multiplexed && this.requests >= t.maxConnections + t.maxPendingRequests) return false;
    this.requests++;
    return true;
  }

  endRequest(): void {
    if (this.requests > 0) this.requests--;
  }

  tryRetry(t: BreakerThresholds): boolean {
    if (this.retries >= t.maxRetries) return false;
    this.retries++;
    return true;
  }

  endRetry(): void {
    if (this.retries > 0) this.retries--;
  }

  /** Active requests and retries (admin, tests). */
  get active(): { readonly requests: number; readonly retries: number } {
    return { requests: this.requests, retries: this.retries };
  }
}

/** One breaker per cluster name, living as long as the waypoint. */
export class CircuitBreakers {
  private readonly byCluster = new Map<string, CircuitBreaker>();

  for(cluster: string): CircuitBreaker {
    let b = this.byCluster.get(cluster);
    if (!b) this.byCluster.set(cluster, (b = new CircuitBreaker()));
    return b;
  }
}
