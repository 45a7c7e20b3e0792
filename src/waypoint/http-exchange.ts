/**
 * One HTTP request through the waypoint, from downstream request to access record:
 *
 *   request context → filters (request path) → route → backend → least-request endpoint →
 *   upstream (undici over HBONE) → filters (response path, reverse) → downstream → access record
 *
 * The exchange is itself the undici dispatch handler, so a request costs one object here and no
 * per-request closures on the synchronous path. It uses undici's classic handler callbacks
 * (`onConnect`/`onHeaders`/`onData`/`onComplete`/`onError`/`onBodySent`) rather than the newer
 * controller API: undici 7 wraps a new-style handler in an adapter object per request and
 * re-parses headers into an object, and only the classic set reports request body bytes sent.
 *
 * Failures are Envoy-style local replies (src/failures.ts): no endpoints → 503 UH; connect
 * failure → 503 UF; upstream reset before the response → 503 UC; route or per-try timeout → 504
 * UT (`route-timeouts.ts`; the upstream request is aborted). Requests that never reached an
 * upstream connection are retried per the route's `reset-before-request` policy (Istio's default
 * route: twice).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { DestinationInfo, FilterResult, LocalReply, Respond, SourceInfo } from '../filter/api.js';
import { CONTINUE, isAsync } from '../filter/api.js';
import type { ChainRun, FilterChain } from '../filter/chain.js';
import type { HttpRequestContext } from '../filter/request-context.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { AccessLogSink } from '../telemetry/access-record.js';
import { GrpcStats } from '../telemetry/grpc-stats.js';
import type { RequestSpan, WaypointTracer } from '../telemetry/waypoint-tracer.js';
import type { UpstreamDispatcher, UpstreamHttpVersion } from '../upstream/http-client.js';
import { upstreamFailureOf } from '../upstream/http-client.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import { endpointAddress } from '../upstream/lb.js';
import type { DownstreamRequest, DownstreamResponse, ResponseWriter } from './downstream-request.js';
import { isBodyless, requestContextOf } from './downstream-request.js';
import { normalizePath } from '../security/path-normalization.js';
import type { PathNormalization } from '../security/path-normalization.js';
import { exchangeRecord } from './exchange-record.js';
import { FilteredRequestBody } from './filtered-body.js';
import { grpcLocalResponse, isGrpcRequest } from './grpc-local-reply.js';
import { ResponseState, failureReply, localResponse } from './local-reply.js';
import { downstreamResponseHeaders, responseHeadersFromRaw, upstreamRequestHeaders } from './proxy-headers.js';
import type { RouteBackend, RouteDecision, RouteTable } from './router.js';
import { applyHeaderMutation, selectBackend } from './router.js';
import type { RequestTimeouts } from './route-timeouts.js';
import { NO_TIMEOUTS, requestTimeouts } from './route-timeouts.js';

/** What every request of one downstream tunnel shares. */
export interface HttpConnection {
  readonly routes: RouteTable;
  readonly chain: FilterChain;
  readonly destination: DestinationInfo;
  readonly source: SourceInfo;
  /** The CONNECT target (`VIP:port`): Envoy's downstream local address. */
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
  readonly upstreamVersion: UpstreamHttpVersion;
  /** The mesh's path normalization (default `BASE`). */
  readonly pathNormalization?: PathNormalization;
}

export interface ExchangeDeps {
  readonly lb: LeastRequestBalancer;
  readonly upstream: UpstreamDispatcher;
  readonly accessLog: AccessLogSink | undefined;
  /** Set when tracing is configured: spans per request, context propagated upstream. */
  readonly tracer?: WaypointTracer | undefined;
  readonly random: () => number;
  /** Told when an exchange is over (the proxy tracks busy tunnels for draining). */
  readonly onDone?: (req: DownstreamRequest, res: DownstreamResponse) => void;
}

type State = 'request' | 'upstream' | 'streaming' | 'local' | 'done';

const EMPTY = Buffer.alloc(0);
const kExchange = Symbol('exchange');
type Tagged = { [kExchange]?: HttpExchange };

function onResponseDrain(this: Tagged): void {
  this[kExchange]?.onDrain();
}

/** Timer callbacks get their exchange as argument: no closure per request. */
function onRouteTimeout(ex: HttpExchange): void {
  ex.onTimeout(false);
}

function onPerTryTimeout(ex: HttpExchange): void {
  ex.onTimeout(true);
}

function onResponseClose(this: Tagged): void {
  const ex = this[kExchange];
  this[kExchange] = undefined;
  ex?.onClose();
}

export class HttpExchange implements Dispatcher.DispatchHandler {
  private readonly ctx: HttpRequestContext;
  private readonly res: ResponseWriter;
  private readonly run: ChainRun | undefined;
  private readonly originalPath: string;
  /** The path could not be normalized: answered 400 without running filters. */
  private readonly badPath: boolean;
  private readonly bodyless: boolean;
  private state: State = 'request';
  private decision: RouteDecision | undefined;
  private backend: RouteBackend | undefined;
  private body: Readable | null = null;
  /** The endpoint of the current attempt while it counts as active in the balancer. */
  private active: Endpoint | undefined;
  private destinationPrincipal: string | undefined;
  private attempt = 0;
  private sentOnConnection = false;
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private upstreamStart = 0;
  private serviceTimeMs: number | undefined;
  private response: ResponseState | undefined;
  private responseBodyHooks = false;
  private bytesReceived = 0;
  private bytesSent = 0;
  private timeouts: RequestTimeouts = NO_TIMEOUTS;
  /** Route timeout (all attempts), started with the first attempt. */
  private routeTimer: NodeJS.Timeout | undefined;
  /** Per-try timeout, from each attempt's dispatch to its response headers. */
  private tryTimer: NodeJS.Timeout | undefined;
  /** Set for gRPC requests only: message counts and grpc-status for the access record. */
  private readonly grpc: GrpcStats | undefined;
  /** This request's trace span, when tracing is on. */
  private readonly span: RequestSpan | undefined;

  constructor(
    private readonly deps: ExchangeDeps,
    private readonly conn: HttpConnection,
    private readonly req: DownstreamRequest,
    res: DownstreamResponse,
    private readonly protocol: 'HTTP/1.1' | 'HTTP/2',
  ) {
    this.res = res as unknown as ResponseWriter;
    this.ctx = requestContextOf(req, protocol, conn.source, conn.destination);
    // Normalized before filters and routes (Istio's pathNormalization, BASE by default), so policy,
    // routing, logs and the app all see the same path and `..`/`%2e` games cannot bypass authz.
    const normalized = normalizePath(this.ctx.path, conn.pathNormalization);
    this.badPath = normalized === undefined;
    if (normalized !== undefined) this.ctx.path = normalized;
    this.originalPath = this.ctx.path;
    this.bodyless = isBodyless(req, protocol);
    this.grpc = isGrpcRequest(this.ctx) ? new GrpcStats() : undefined;
    // Read before filters run, as Envoy's HCM does: denied and local replies get spans too.
    this.span = deps.tracer?.begin(this.ctx.headers);
    this.run = conn.chain.isEmpty ? undefined : conn.chain.start(this.ctx);
    // Listeners are shared module functions finding their exchange on the response: no closure
    // per request on the common path.
    (res as unknown as Tagged)[kExchange] = this;
    this.res.on('drain', onResponseDrain);
    this.res.on('close', onResponseClose);
  }

  start(): void {
    if (this.badPath) {
      this.sendLocal(failureReply('PATH_NORMALIZATION_FAILED'));
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
    const decision = this.conn.routes.routeHttp(this.ctx);
    if (decision?.respond) {
      // Redirect, direct response, or a rule without usable backends (the spec's 500).
      this.ctx.streamInfo.routeName = decision.name;
      this.sendLocal(decision.respond.reply(this.ctx));
      return;
    }
    const backend = decision ? selectBackend(decision, this.deps.random) : undefined;
    if (!decision || !backend) {
      this.sendLocal(failureReply('NO_ROUTE'));
      return;
    }
    this.decision = decision;
    this.backend = backend;
    const info = this.ctx.streamInfo;
    info.routeName = decision.name;
    info.upstreamCluster = backend.cluster;
    if (backend.reply) {
      this.sendLocal(backend.reply);
      return;
    }
    // After matching (which saw the original request), before anything goes upstream or to a mirror.
    decision.rewrite?.apply(this.ctx);
    if (decision.requestHeaders) applyHeaderMutation(this.ctx.headers, decision.requestHeaders);
    if (backend.requestHeaders) applyHeaderMutation(this.ctx.headers, backend.requestHeaders);
    // The upstream (and a mirror) sees the waypoint's span as its parent.
    if (this.span) this.deps.tracer?.inject(this.ctx.headers, this.span);
    decision.mirror?.send(this.ctx, this.conn.upstreamVersion, this.bodyless);
    // After the mirror, which must not carry the expected-timeout header of this request.
    this.timeouts = requestTimeouts(decision, this.ctx.headers);
    if (!this.bodyless) {
      const src = this.ctx.body?.replay() ?? this.req;
      this.body = this.run?.wantsRequestBody ? new FilteredRequestBody(src, this.run, (reply) => this.onBodyReply(reply)) : src;
    }
    this.sendUpstream();
  }

  private sendUpstream(): void {
    const backend = this.backend as RouteBackend;
    const ep = backend.picker ? backend.picker.pick(this.ctx) : this.deps.lb.pick(backend.endpoints);
    if (!ep) {
      this.sendLocal(failureReply('NO_HEALTHY_UPSTREAM'));
      return;
    }
    this.attempt++;
    this.deps.lb.begin(ep);
    this.active = ep;
    this.destinationPrincipal = ep.workload.identity;
    this.ctx.streamInfo.upstreamHost = endpointAddress(ep);
    this.state = 'upstream';
    this.sentOnConnection = false;
    this.upstreamStart = Date.now();
    // Envoy starts the route timer once the downstream request is complete; streaming bodies
    // through, we start it with the first attempt (a slow request body counts against it).
    if (this.timeouts.routeMs > 0 && !this.routeTimer) this.routeTimer = setTimeout(onRouteTimeout, this.timeouts.routeMs, this).unref();
    if (this.timeouts.perTryMs > 0) {
      clearTimeout(this.tryTimer);
      this.tryTimer = setTimeout(onPerTryTimeout, this.timeouts.perTryMs, this).unref();
    }
    this.deps.upstream.dispatch(
      ep,
      this.conn.upstreamVersion,
      {
        method: this.ctx.method,
        path: this.ctx.path,
        headers: upstreamRequestHeaders(this.ctx.headers, this.ctx.authority, this.attempt),
        body: this.body,
      },
      this,
    );
  }

  /** True when the failed attempt may be retried under `reset-before-request`. */
  private mayRetryBeforeRequest(): boolean {
    const retry = this.decision?.retry;
    if (!retry || this.attempt > retry.numRetries) return false;
    return retry.retryOn.includes('reset-before-request') || retry.retryOn.includes('connect-failure');
  }

  // --- undici handler (classic callbacks) ---

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    this.sentOnConnection = true;
    if (this.state !== 'upstream') abort(new Error('request no longer wanted'));
  }

  /** undici 7 passes the chunk here (its typings say a size): accept both. */
  onBodySent(chunk: Buffer | string | number): void {
    if (typeof chunk === 'number') {
      this.bytesReceived += chunk;
      return;
    }
    this.bytesReceived += chunk.length;
    if (this.grpc) this.grpc.request.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void): boolean {
    if (this.state !== 'upstream') return false;
    // 1xx are hop-level (100-continue was answered by our own codec): not forwarded.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
    this.serviceTimeMs = Date.now() - this.upstreamStart;
    this.state = 'streaming';
    const resp = new ResponseState(statusCode, responseHeadersFromRaw(rawHeaders ?? []), false);
    this.ctx.streamInfo.responseCodeDetails = 'via_upstream';
    if (this.decision?.responseHeaders) applyHeaderMutation(resp.headers, this.decision.responseHeaders);
    if (this.backend?.responseHeaders) applyHeaderMutation(resp.headers, this.backend.responseHeaders);
    if (!this.run) return this.writeHead(resp);
    const r = this.run.responseHeaders(resp, false);
    if (isAsync(r)) {
      r.then((x) => {
        if (this.afterResponseFilters(resp, x)) this.resumeUpstream?.();
      }, () => this.onInternalError());
      return false;
    }
    return this.afterResponseFilters(resp, r);
  }

  onData(chunk: Buffer): boolean {
    if (this.state !== 'streaming') return true;
    if (this.responseBodyHooks) return this.filterResponseBody(chunk, false);
    this.bytesSent += chunk.length;
    this.grpc?.response.push(chunk);
    return this.res.write(chunk);
  }

  onComplete(rawTrailers: Buffer[] | string[] | null): void {
    this.release();
    this.clearTimers();
    if (this.state !== 'streaming') return;
    if (this.responseBodyHooks) {
      this.filterResponseBody(EMPTY, true);
      return;
    }
    this.endResponse(rawTrailers);
  }

  onError(err: Error): void {
    this.release();
    switch (this.state) {
      case 'upstream': {
        const code = upstreamFailureOf(err, this.sentOnConnection);
        if (!this.sentOnConnection && this.mayRetryBeforeRequest()) {
          this.sendUpstream();
          return;
        }
        this.sendLocal(failureReply(code));
        return;
      }
      case 'streaming':
        // The response had started: the only honest signal left is a reset.
        this.ctx.streamInfo.addResponseFlag('UC');
        this.resetDownstream();
        return;
      case 'request':
      case 'local':
      case 'done':
        return;
    }
  }

  /**
   * A timeout fired (Envoy `onResponseTimeout`/`onPerTryTimeout`): the upstream request is
   * aborted (its stream and balancer slot released) and the client gets 504 `UT`; if the response
   * had already started, the only signal left is a reset (still flagged `UT`). Retries on a
   * per-try timeout need `5xx`/`gateway-error`/`reset` in `retryOn`, which Istio's default lacks;
   * they come with the resilience issue.
   */
  onTimeout(perTry: boolean): void {
    if (perTry) this.tryTimer = undefined;
    else this.routeTimer = undefined;
    switch (this.state) {
      case 'upstream':
        // Leave 'upstream' before aborting, so the abort's onError is not taken for a failure
        // to retry; not yet connected, onConnect aborts on its own.
        this.clearTimers();
        this.release();
        this.sendLocal(failureReply(perTry ? 'UPSTREAM_PER_TRY_TIMEOUT' : 'UPSTREAM_TIMEOUT'));
        this.abortUpstream?.(new Error('upstream request timeout'));
        return;
      case 'streaming':
        if (perTry) return;
        this.clearTimers();
        this.release();
        this.ctx.streamInfo.addResponseFlag('UT');
        this.resetDownstream();
        this.abortUpstream?.(new Error('upstream request timeout'));
        return;
      case 'request':
      case 'local':
      case 'done':
        return;
    }
  }

  private clearTimers(): void {
    if (this.routeTimer) clearTimeout(this.routeTimer);
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.routeTimer = undefined;
    this.tryTimer = undefined;
  }

  // --- response path ---

  private afterResponseFilters(resp: ResponseState, r: FilterResult): boolean {
    if (this.state !== 'streaming') return false;
    if (r.action === 'respond') {
      // A filter replaced the upstream response: stop reading it.
      this.abortUpstream?.(new Error('response replaced by a local reply'));
      this.sendLocal(r.reply);
      return false;
    }
    return this.writeHead(resp);
  }

  private writeHead(resp: ResponseState): boolean {
    try {
      this.res.writeHead(resp.status, downstreamResponseHeaders(resp.headers, resp.local ? undefined : this.serviceTimeMs));
    } catch {
      // A header the downstream codec refuses (invalid characters): Envoy answers 502 UPE.
      this.abortUpstream?.(new Error('invalid upstream response headers'));
      this.sendLocal(failureReply('UPSTREAM_PROTOCOL_ERROR'));
      return false;
    }
    this.response = resp;
    this.responseBodyHooks = this.run?.wantsResponseBody ?? false;
    // A trailers-only gRPC response carries its status in the headers.
    this.grpc?.observeStatus(resp.headers.get('grpc-status'));
    return true;
  }

  private filterResponseBody(chunk: Buffer, end: boolean): boolean {
    const r = (this.run as ChainRun).responseBody(this.response as ResponseState, chunk, end);
    if (isAsync(r)) {
      r.then((x) => {
        if (this.deliverResponseBody(x, chunk, end)) this.resumeUpstream?.();
      }, () => this.onInternalError());
      return false;
    }
    return this.deliverResponseBody(r, chunk, end);
  }

  private deliverResponseBody(r: FilterResult, chunk: Buffer, end: boolean): boolean {
    if (this.state !== 'streaming') return false;
    if (r.action === 'respond') {
      this.abortUpstream?.(new Error('response body answered by a filter'));
      this.resetDownstream();
      return false;
    }
    const out = r.body ?? chunk;
    this.bytesSent += out.length;
    this.grpc?.response.push(out);
    const more = out.length > 0 ? this.res.write(out) : true;
    if (end) this.endResponse(null);
    return more;
  }

  private endResponse(rawTrailers: Buffer[] | string[] | null): void {
    if (rawTrailers && rawTrailers.length > 0) {
      const trailers = responseHeadersFromRaw(rawTrailers);
      this.grpc?.observeStatus(trailers.get('grpc-status'));
      if (this.protocol === 'HTTP/2') this.res.addTrailers(downstreamResponseHeaders(trailers, undefined));
    }
    this.state = 'local';
    this.res.end();
  }

  /** Answers with a local reply; the response path runs for the filters that ran. */
  private sendLocal(reply: LocalReply): void {
    if (this.state === 'done') return;
    this.state = 'local';
    const info = this.ctx.streamInfo;
    if (reply.responseFlag) info.addResponseFlag(reply.responseFlag);
    info.responseCodeDetails = reply.details ?? 'direct_response';
    // gRPC clients get errors as grpc-status (Envoy); redirects stay HTTP.
    const resp = reply.status >= 400 && isGrpcRequest(this.ctx) ? grpcLocalResponse(reply) : localResponse(reply);
    if (!this.run) {
      this.writeLocal(resp);
      return;
    }
    const r = this.run.responseHeaders(resp, resp.localBody.length === 0);
    if (isAsync(r)) r.then((x) => this.afterLocalFilters(resp, x), () => this.onInternalError());
    else this.afterLocalFilters(resp, r);
  }

  private afterLocalFilters(resp: ResponseState, r: FilterResult): void {
    if (this.state === 'done') return;
    if (r.action === 'respond') this.sendLocal(r.reply);
    else this.writeLocal(resp);
  }

  private writeLocal(resp: ResponseState): void {
    if (this.res.headersSent) {
      this.resetDownstream();
      return;
    }
    this.response = resp;
    this.bytesSent += Buffer.byteLength(resp.localBody);
    // The waypoint's own gRPC replies are trailers-only: the status is in the headers.
    this.grpc?.observeStatus(resp.headers.get('grpc-status'));
    this.res.writeHead(resp.status, downstreamResponseHeaders(resp.headers, undefined));
    this.res.end(resp.localBody);
  }

  private resetDownstream(): void {
    this.state = 'local';
    this.res.destroy(new Error('upstream reset after response started'));
  }

  private release(): void {
    if (!this.active) return;
    this.deps.lb.end(this.active);
    this.active = undefined;
  }

  private onBodyReply(reply: Respond): void {
    if (this.state === 'upstream') this.abortUpstream?.(new Error('request body answered by a filter'));
    if (this.state === 'upstream' || this.state === 'request') {
      this.state = 'request';
      this.sendLocal(reply.reply);
    } else this.resetDownstream();
  }

  /** The downstream can take more: let undici read the upstream again. */
  onDrain(): void {
    this.resumeUpstream?.();
  }

  /** A rejected hook promise is already turned into a reply by the chain; this is a last resort. */
  private onInternalError(): void {
    if (this.state === 'done') return;
    if (this.res.headersSent) this.resetDownstream();
    else this.sendLocal(failureReply('FILTER_FAILED'));
  }

  /** The downstream response is over (finished or aborted): settle, release, record. */
  onClose(): void {
    const finished = this.res.writableFinished;
    if (!finished && this.state !== 'done') {
      // Downstream went away first (Envoy: DC): stop the upstream side too.
      this.ctx.streamInfo.addResponseFlag('DC');
      this.abortUpstream?.(new Error('downstream closed'));
    }
    this.state = 'done';
    this.clearTimers();
    this.release();
    this.run?.complete();
    if (this.deps.accessLog || this.span?.ctx.sampled) this.record(finished);
    this.deps.onDone?.(this.req, this.res as unknown as DownstreamResponse);
  }

  private record(finished: boolean): void {
    const sent = this.response !== undefined && (finished || this.res.headersSent);
    const record = exchangeRecord(this.ctx, {
      originalPath: this.originalPath,
      protocol: this.protocol,
      responseCode: sent ? (this.response as ResponseState).status : 0,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      serviceTimeMs: this.serviceTimeMs,
      destinationPrincipal: this.destinationPrincipal,
      downstreamLocalAddress: this.conn.downstreamLocalAddress,
      downstreamRemoteAddress: this.conn.downstreamRemoteAddress,
      grpc: this.grpc,
    });
    this.deps.accessLog?.(record);
    if (this.span) this.deps.tracer?.end(record, this.span);
  }
}
