/**
 * What the route's retry policy and the backend cluster's DestinationRule say about one
 * exchange's attempts: admission by the circuit breaker, endpoint choice (retries prefer hosts
 * not tried yet — Istio's `previous_hosts` predicate; outlier-ejected hosts are never chosen),
 * whether a failed attempt is retried and after what back-off, the body each attempt sends, and
 * the outcome each attempt reports to outlier detection.
 *
 * Created per routed request; the common case (default route, no DestinationRule limits, no
 * retry header) allocates nothing beyond this object and uses the request body as is.
 */
import type { Readable } from 'node:stream';
import type { RequestContext, StreamInfo } from '../filter/api.js';
import type { HeaderMap } from '../filter/header-map.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { BreakerThresholds, CircuitBreaker, CircuitBreakers } from '../upstream/circuit-breaker.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import { endpointAddress } from '../upstream/lb.js';
import type { OutlierDetector, OutlierDetectors, OutlierSettings } from '../upstream/outlier-detector.js';
import type { AttemptFailure } from '../upstream/retry-state.js';
import { RetryState } from '../upstream/retry-state.js';
import { ReplayBody } from './replay-body.js';
import type { RouteBackend, RouteDecision } from './router.js';

export interface ResilienceDeps {
  readonly lb: LeastRequestBalancer;
  readonly random: () => number;
  /** Circuit breakers per cluster; without them `connectionPool` limits are not enforced. */
  readonly breakers?: CircuitBreakers;
  /** Outlier detectors per cluster; without them `outlierDetection` is not applied. */
  readonly outliers?: OutlierDetectors;
  /** Request body kept for retries, at most (default 1 MiB). */
  readonly replayLimitBytes?: number;
}

/** After an attempt: go again (after {@link ExchangeResilience.backoffMs}) or not. */
export type AttemptVerdict = 'retry' | 'final';

export class ExchangeResilience {
  private readonly retry: RetryState | undefined;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly thresholds: BreakerThresholds | undefined;
  private readonly outlier: OutlierDetector | undefined;
  private readonly outlierSettings: OutlierSettings | undefined;
  private readonly replay: ReplayBody | undefined;
  private tried: Endpoint[] | undefined;
  private holdsRequest = false;
  private holdsRetry = false;

  constructor(
    private readonly deps: ResilienceDeps,
    private readonly decision: RouteDecision,
    private readonly backend: RouteBackend,
    headers: HeaderMap,
    /** The request body (null when bodyless), already behind the request-body filters. */
    private readonly body: Readable | null,
    /** The upstream multiplexes (HTTP/2): no request waits for a connection of its own. */
    private readonly multiplexed: boolean,
  ) {
    this.retry = RetryState.forRequest(decision.retry, headers);
    const r = backend.resilience;
    if (r?.breaker && deps.breakers) {
      this.breaker = deps.breakers.for(backend.cluster);
      this.thresholds = r.breaker;
    }
    if (r?.outlier && deps.outliers) {
      this.outlier = deps.outliers.for(backend.cluster);
      this.outlierSettings = r.outlier;
    }
    if (body && this.retry?.needsReplay) this.replay = new ReplayBody(body, deps.replayLimitBytes);
  }

  /** The circuit breaker admits the request; false = overflow (503 `UO`). */
  admit(): boolean {
    if (!this.breaker || !this.thresholds) return true;
    if (!this.breaker.tryRequest(this.thresholds, this.multiplexed)) return false;
    this.holdsRequest = true;
    return true;
  }

  /** The endpoint for the next attempt; `undefined` when none is eligible (503 `UH`). */
  pick(ctx: RequestContext): Endpoint | undefined {
    const b = this.backend;
    const outlier = this.outlier !== undefined && this.outlier.ejectedCount > 0 ? this.outlier : undefined;
    const tried = this.decision.retry.avoidPreviousHosts ? this.tried : undefined;
    let ep: Endpoint | undefined;
    if (!outlier && !tried) ep = b.picker ? b.picker.pick(ctx) : this.deps.lb.pick(b.endpoints);
    else {
      const ejected = (e: Endpoint): boolean => outlier !== undefined && outlier.isEjected(endpointAddress(e));
      const avoid = (e: Endpoint): boolean => ejected(e) || (tried !== undefined && tried.includes(e));
      const first = b.picker?.pick(ctx);
      ep = first && !avoid(first) ? first : this.deps.lb.pick(b.endpoints, avoid);
      // previous_hosts is a preference (Envoy gives up after host_selection_retry_max_attempts):
      // with every healthy host tried, a tried one is better than none.
      if (!ep && tried) ep = this.deps.lb.pick(b.endpoints, outlier ? ejected : undefined);
    }
    if (ep && this.retry) (this.tried ??= []).push(ep);
    return ep;
  }

  /** The body the next attempt sends. */
  bodyFor(): Readable | null {
    return this.replay ? this.replay.stream() : this.body;
  }

  /** One attempt's outcome, for outlier detection: its status, or what a local failure stands for. */
  outcome(ep: Endpoint, status: number): void {
    // 0: the attempt failed before reaching the endpoint through no fault of its own.
    if (status === 0) return;
    if (this.outlier && this.outlierSettings) this.outlier.record(this.outlierSettings, endpointAddress(ep), status, this.backend.endpoints.length);
  }

  /** Response headers arrived: retry them (the response is dropped) or pass them on. */
  afterHeaders(status: number, headers: HeaderMap, connected: boolean, info: StreamInfo): AttemptVerdict {
    if (!this.retry) return 'final';
    return this.verdict(this.retry.onHeaders(status, headers), connected, info);
  }

  /** An attempt ended without response headers. */
  afterFailure(kind: AttemptFailure, connected: boolean, info: StreamInfo): AttemptVerdict {
    if (!this.retry) return 'final';
    return this.verdict(this.retry.onFailure(kind), connected, info);
  }

  /** The response is being relayed: nothing will be retried, so the body copy can go. */
  responseStarted(): void {
    this.replay?.release();
  }

  /** The back-off before the retry just decided. */
  backoffMs(): number {
    return this.retry ? this.retry.backoffMs(this.deps.random) : 0;
  }

  /** The exchange is over: give back what it holds. */
  close(): void {
    if (this.holdsRequest) this.breaker?.endRequest();
    if (this.holdsRetry) this.breaker?.endRetry();
    this.holdsRequest = false;
    this.holdsRetry = false;
    this.replay?.close();
  }

  private verdict(d: 'retry' | 'limit' | 'none', connected: boolean, info: StreamInfo): AttemptVerdict {
    if (d === 'none') return 'final';
    if (d === 'limit') {
      info.addResponseFlag('URX');
      return 'final';
    }
    // The body must go again in full: kept for replay, or never read by the failed attempt.
    if (this.body && (this.replay ? this.replay.overflowed : connected)) return 'final';
    const retry = this.retry as RetryState;
    retry.take();
    if (this.holdsRetry) this.breaker?.endRetry();
    this.holdsRetry = false;
    if (this.breaker && this.thresholds) {
      if (!this.breaker.tryRetry(this.thresholds)) {
        info.addResponseFlag('UO');
        return 'final';
      }
      this.holdsRetry = true;
    }
    return 'retry';
  }
}
