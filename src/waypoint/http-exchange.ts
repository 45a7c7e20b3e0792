/**
 * One HTTP request through the waypoint, from downstream request to access record:
 *
 *   request context → filters (request path) → route → backend → circuit breaker → endpoint →
 *   attempt(s) upstream (over HBONE; retries with back-off) → filters (response path,
 *   reverse) → downstream → access record
 *
 * Each attempt is its own dispatch handler ({@link UpstreamAttempt}); the route step and the body
 * the upstream reads are in exchange-route.ts; what the retry policy, the circuit breaker and
 * outlier detection decide lives in {@link ExchangeResilience}; writing the response downstream
 * in {@link ResponseRelay}. This file is the state machine between them.
 *
 * Failures are Envoy-style local replies (src/failures.ts): no endpoints → 503 UH; circuit
 * breaker → 503 UO (+ `x-envoy-overloaded`); connect failure → 503 UF; reset before the response
 * → 503 UC; route or per-try timeout → 504 UT (the upstream request is aborted). A failed attempt
 * is retried as the route's policy says; a retriable failure with no retry left adds `URX`.
 */
import type { FilterResult, LocalReply, Respond } from '../filter/api.js';
import { CONTINUE, isAsync } from '../filter/api.js';
import type { ChainRun } from '../filter/chain.js';
import type { HttpRequestContext } from '../filter/request-context.js';
import { GrpcStats } from '../telemetry/grpc-stats.js';
import type { RequestSpan } from '../telemetry/waypoint-tracer.js';
import { attachRequestTrailers } from '../upstream/h2-request-trailers.js';
import { attemptFailureOf } from '../upstream/http-client.js';
import { endpointAddress } from '../upstream/lb.js';
import type { AttemptFailure } from '../upstream/retry-state.js';
import type { FailureCode } from '../failures.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';
import { requestContextOf } from './downstream-request.js';
import { normalizeRequest } from '../security/request-normalization.js';
import { ExchangeResilience } from './exchange-resilience.js';
import { ExchangeTimers } from './exchange-timers.js';
import { routeRequest, upstreamBody } from './exchange-route.js';
import { isGrpcRequest } from './grpc-local-reply.js';
import { ResponseState, failureReply } from './local-reply.js';
import { responseHeadersFromRaw, upstreamRequestHeaders } from './proxy-headers.js';
import { RequestTrailers } from './request-trailers.js';
import { ResponseRelay } from './response-relay.js';
import type { RouteBackend, RouteDecision } from './router.js';
import { applyHeaderMutation } from './router.js';
import type { RequestTimeouts } from './route-timeouts.js';
import { NO_TIMEOUTS, requestTimeouts } from './route-timeouts.js';
import type { AttemptOwner } from './upstream-attempt.js';
import { UpstreamAttempt } from './upstream-attempt.js';
import type { ExchangeDeps, HttpConnection } from './http-connection.js';

export type { ExchangeDeps, HttpConnection } from './http-connection.js';

/** `backoff`: a retry is waiting for its back-off timer. */
type State = 'request' | 'upstream' | 'backoff' | 'streaming' | 'local' | 'done';

/** The circuit breaker's answer, with Envoy's header. */
const OVERFLOW_REPLY: LocalReply = Object.freeze({ ...failureReply('UPSTREAM_OVERFLOW'), headers: Object.freeze({ 'x-envoy-overloaded': 'true' }) });

export class HttpExchange implements AttemptOwner, DownstreamEvents {
  private readonly ctx: HttpRequestContext;
  private readonly relay: ResponseRelay;
  private readonly run: ChainRun | undefined;
  /** The path could not be normalized, or the method is not upper case: 400 without filters. */
  private readonly refusal: FailureCode | undefined;
  private readonly bodyless: boolean;
  /** Requests with a body only: their trailers, if any, follow it upstream. */
  private readonly trailers: RequestTrailers | undefined;
  private state: State = 'request';
  private decision: RouteDecision | undefined;
  private backend: RouteBackend | undefined;
  private resilience: ExchangeResilience | undefined;
  /** The attempt in flight (or whose response is streaming). */
  private attempt: UpstreamAttempt | undefined;
  private attempts = 0;
  private destinationPrincipal: string | undefined;
  private bytesReceived = 0;
  private timeouts: RequestTimeouts = NO_TIMEOUTS;
  private readonly timers = new ExchangeTimers(this);
  /** Set for gRPC requests only: message counts and grpc-status for the access record. */
  private readonly grpc: GrpcStats | undefined;
  /** This request's trace span, when tracing is on. */
  private readonly span: RequestSpan | undefined;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly conn: HttpConnection,
    private readonly down: DownstreamExchange,
  ) {
    this.ctx = requestContextOf(down, conn.source, conn.destination);
    // Normalized before filters and routes (Istio's pathNormalization, BASE by default), so policy,
    // routing, logs and the app all see the same path and `..`/`%2e`/`\` games cannot bypass authz.
    this.refusal = conn.refusal ?? normalizeRequest(this.ctx, conn.pathNormalization);
    this.bodyless = down.bodyless;
    if (!this.bodyless) this.ctx.trailerSink = this.trailers = new RequestTrailers(down);
    this.grpc = isGrpcRequest(this.ctx) ? new GrpcStats() : undefined;
    // Read before filters run, as Envoy's HCM does: denied and local replies get spans too.
    this.span = deps.tracer?.begin(this.ctx.headers);
    // An unbound tunnel (conn.refusal) is refused first; its chain is the old config's: none of it runs.
    this.run = conn.chain.isEmpty || conn.refusal !== undefined ? undefined : conn.chain.start(this.ctx);
    this.relay = new ResponseRelay(this, down, this.ctx, this.run, this.grpc);
    down.attach(this);
  }

  start(): void {
    if (this.refusal !== undefined) {
      if (this.conn.refusal !== undefined) this.down.closeConnection();
      this.sendLocal(failureReply(this.refusal));
      return;
    }
    if (!this.run) {
      this.afterRequestFilters(CONTINUE);
      return;
    }
    const r = this.run.requestHeaders(this.bodyless);
    if (isAsync(r)) r.then((x) => this.afterRequestFilters(x), () => this.onInternalError());
    else this.afterRequestFilters(r);
  }

  // --- request path ---

  private afterRequestFilters(r: FilterResult): void {
    if (this.state !== 'request') return;
    if (r.action === 'respond') {
      this.sendLocal(r.reply);
      return;
    }
    const routed = routeRequest(this.ctx, this.conn.routes, this.deps.random, this.deps.tracer, this.span);
    if (routed.reply) {
      this.sendLocal(routed.reply);
      return;
    }
    const { decision, backend } = routed;
    this.decision = decision;
    this.backend = backend;
    let body = this.bodyless ? null : upstreamBody(this.ctx, this.down, this.run, this.trailers as RequestTrailers, (reply) => this.onBodyReply(reply));
    // Shadows copy the filtered body as it streams (so the real request reads it through the mirror).
    if (decision.mirror) body = decision.mirror.send(this.ctx, this.conn.upstreamVersion, body);
    // After the mirror, which must not carry the expected-timeout header of this request.
    this.timeouts = requestTimeouts(decision, this.ctx.headers);
    this.resilience = new ExchangeResilience(this.deps, decision, backend, this.ctx.headers, body, this.conn.upstreamVersion === 'h2');
    if (!this.resilience.admit()) {
      this.sendLocal(OVERFLOW_REPLY);
      return;
    }
    // Envoy starts the route timer once the downstream request is complete; streaming bodies
    // through, we start it with the first attempt (a slow request body counts against it).
    this.timers.startRoute(this.timeouts.routeMs);
    this.sendUpstream();
  }

  private sendUpstream(): void {
    const resilience = this.resilience as ExchangeResilience;
    const ep = resilience.pick(this.ctx);
    if (!ep) {
      this.sendLocal(failureReply('NO_HEALTHY_UPSTREAM'));
      return;
    }
    const a = new UpstreamAttempt(this, this.deps.lb, ep, ++this.attempts);
    this.attempt = a;
    this.destinationPrincipal = ep.workload.identity;
    this.ctx.streamInfo.upstreamHost = endpointAddress(ep);
    this.state = 'upstream';
    // BYTES_RECEIVED is what reached the upstream: the last attempt's count.
    this.bytesReceived = 0;
    this.timers.startTry(this.timeouts.perTryMs);
    const body = attachRequestTrailers(resilience.bodyFor(), this.trailers);
    this.deps.upstream.dispatch(
      ep,
      this.conn.upstreamVersion,
      {
        method: this.ctx.method,
        path: this.ctx.path,
        headers: upstreamRequestHeaders(this.ctx.headers, this.ctx.authority, a.number, this.conn.upstreamVersion === 'h2' ? this.ctx.scheme : undefined),
        body,
      },
      a,
      (this.backend as RouteBackend).resilience?.pool,
    );
  }

  /** The attempt failed and the policy retries: wait the back-off, then go again. */
  private scheduleRetry(): void {
    this.attempt = undefined;
    this.timers.stopTry();
    this.state = 'backoff';
    this.timers.startBackoff((this.resilience as ExchangeResilience).backoffMs());
  }

  onBackoff(): void {
    if (this.state === 'backoff') this.sendUpstream();
  }

  // --- attempts ---

  attemptBodySent(a: UpstreamAttempt, chunk: Buffer | string | number): void {
    if (typeof chunk === 'number') {
      this.bytesReceived += chunk;
      return;
    }
    this.bytesReceived += chunk.length;
    // Frames are counted once: a replayed body carries the same messages again.
    if (this.grpc && a.number === 1) this.grpc.request.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  attemptHeaders(a: UpstreamAttempt, statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean {
    if (this.state !== 'upstream' || a !== this.attempt) return false;
    // 1xx are hop-level (100-continue was answered by our own codec): not forwarded.
    if (statusCode < 200) return true;
    this.timers.stopTry();
    const headers = responseHeadersFromRaw(rawHeaders);
    const resilience = this.resilience as ExchangeResilience;
    resilience.outcome(a.endpoint, statusCode);
    if (resilience.afterHeaders(statusCode, headers, a.connected, this.ctx.streamInfo) === 'retry') {
      a.cancel('response retried');
      this.scheduleRetry();
      return false;
    }
    this.state = 'streaming';
    resilience.responseStarted();
    const resp = new ResponseState(statusCode, headers, false);
    this.ctx.streamInfo.responseCodeDetails = 'via_upstream';
    if (this.decision?.responseHeaders) applyHeaderMutation(resp.headers, this.decision.responseHeaders);
    if (this.backend?.responseHeaders) applyHeaderMutation(resp.headers, this.backend.responseHeaders);
    return this.relay.upstreamHeaders(resp, Date.now() - a.startedAt, resume);
  }

  attemptData(_a: UpstreamAttempt, chunk: Buffer): boolean {
    if (this.state !== 'streaming') return true;
    return this.relay.upstreamData(chunk);
  }

  attemptComplete(_a: UpstreamAttempt, rawTrailers: Buffer[] | string[] | null): void {
    this.timers.clear();
    if (this.state !== 'streaming') return;
    this.relay.upstreamComplete(rawTrailers);
  }

  attemptError(a: UpstreamAttempt, err: Error): void {
    if (a !== this.attempt) return;
    switch (this.state) {
      case 'upstream': {
        const f = attemptFailureOf(err, a.connected);
        this.failAttempt(a, f.kind, f.status, f.code);
        return;
      }
      case 'streaming':
        // The response had started: the only honest signal left is a reset.
        this.ctx.streamInfo.addResponseFlag('UC');
        this.timers.clear();
        this.relay.reset();
        return;
      case 'request':
      case 'backoff':
      case 'local':
      case 'done':
        return;
    }
  }

  /** An attempt ended without a response: retry it, or answer with the failure. */
  private failAttempt(a: UpstreamAttempt, kind: AttemptFailure, outlierStatus: number, code: FailureCode): void {
    const resilience = this.resilience as ExchangeResilience;
    resilience.outcome(a.endpoint, outlierStatus);
    if (resilience.afterFailure(kind, a.connected, this.ctx.streamInfo) === 'retry') {
      a.cancel('attempt retried');
      this.scheduleRetry();
      return;
    }
    this.attempt = undefined;
    a.cancel('attempt failed');
    this.timers.clear();
    this.sendLocal(failureReply(code));
  }

  /**
   * A timeout fired (Envoy `onResponseTimeout`/`onPerTryTimeout`). A per-try timeout is an
   * attempt failure (retried on `5xx`, `gateway-error`, `reset`); the route timeout ends the
   * request: the attempt is aborted (its stream and balancer slot released) and the client gets
   * 504 `UT`; if the response had already started, the only signal left is a reset (still `UT`).
   */
  onTimeout(perTry: boolean): void {
    switch (this.state) {
      case 'upstream':
        if (perTry && this.attempt) {
          this.failAttempt(this.attempt, 'per-try-timeout', 504, 'UPSTREAM_PER_TRY_TIMEOUT');
          return;
        }
        this.abandonAttempt('upstream request timeout');
        this.sendLocal(failureReply('UPSTREAM_TIMEOUT'));
        return;
      case 'backoff':
        if (perTry) return;
        this.timers.clear();
        this.sendLocal(failureReply('UPSTREAM_TIMEOUT'));
        return;
      case 'streaming':
        if (perTry) return;
        this.ctx.streamInfo.addResponseFlag('UT');
        this.abandonAttempt('upstream request timeout');
        this.relay.reset();
        return;
      case 'request':
      case 'local':
      case 'done':
        return;
    }
  }

  private abandonAttempt(reason: string): void {
    this.timers.clear();
    const a = this.attempt;
    this.attempt = undefined;
    a?.cancel(reason);
  }

  // --- what the relay asks of the exchange ---

  /** The relay stopped the response (a filter replaced it, or the downstream is gone). */
  stopUpstream(reason: string): void {
    this.abandonAttempt(reason);
  }

  /** The relay needs the upstream to go on (downstream drained, async filter done). */
  resumeUpstream(): void {
    this.attempt?.resume();
  }

  /** Answers with a local reply; the response path runs for the filters that ran. */
  sendLocal(reply: LocalReply): void {
    if (this.state === 'done') return;
    this.state = 'local';
    this.relay.sendLocal(reply);
  }

  /** The relay is writing the response (or a reset): no attempt may answer any more. */
  markLocal(): void {
    if (this.state !== 'done') this.state = 'local';
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  get streaming(): boolean {
    return this.state === 'streaming';
  }

  private onBodyReply(reply: Respond): void {
    if (this.state === 'upstream' || this.state === 'backoff') this.abandonAttempt('request body answered by a filter');
    if (this.state === 'upstream' || this.state === 'backoff' || this.state === 'request') {
      this.state = 'request';
      this.sendLocal(reply.reply);
    } else this.relay.reset();
  }

  /** DownstreamEvents: the response may take more body. */
  downstreamDrain(): void {
    this.resumeUpstream();
  }

  /** Envoy's stream idle timeout: nothing moved either way (408 while the request arrives, else 504; reset once answering). */
  downstreamIdle(): void {
    const requestComplete = this.bodyless || this.down.complete;
    if (this.state === 'done') return;
    this.abandonAttempt('stream idle timeout');
    if (this.relay.headersSent) {
      this.ctx.streamInfo.addResponseFlag('SI');
      this.relay.reset();
    } else this.sendLocal(failureReply(requestComplete ? 'STREAM_IDLE_TIMEOUT' : 'STREAM_IDLE_TIMEOUT_REQUEST'));
  }

  /** A rejected hook promise is already turned into a reply by the chain; this is a last resort. */
  onInternalError(): void {
    if (this.state === 'done') return;
    if (this.relay.headersSent) this.relay.reset();
    else this.sendLocal(failureReply('FILTER_FAILED'));
  }

  /** The downstream response is over (finished or aborted): settle, release, record. */
  downstreamClosed(finished: boolean): void {
    if (!finished && this.state !== 'done') {
      // Downstream went away first (Envoy: DC): stop the upstream side too.
      this.ctx.streamInfo.addResponseFlag('DC');
    }
    this.state = 'done';
    this.abandonAttempt('downstream closed');
    this.resilience?.close();
    this.run?.complete();
    if (this.deps.accessLog || this.span?.ctx.sampled) {
      const record = this.relay.record(finished, {
        bytesReceived: this.bytesReceived,
        destinationPrincipal: this.destinationPrincipal,
        downstreamLocalAddress: this.conn.downstreamLocalAddress,
        downstreamRemoteAddress: this.conn.downstreamRemoteAddress,
      });
      this.deps.accessLog?.(record);
      if (this.span) this.deps.tracer?.end(record, this.span);
    }
  }

}
