/**
 * Runs a stream's filters: request hooks in phase order, response hooks in reverse for the
 * filters that ran. Built once per config ({@link FilterChain}); one {@link ChainRun} per stream.
 *
 * Hot-path rules: a hook's synchronous result is used as is (no promise, no allocation for
 * {@link CONTINUE}); only a hook that returns a promise makes the run asynchronous, and then only
 * from that filter on. No closures are created per request.
 *
 * Semantics (design.md §5):
 * - A local reply on the request path skips the remaining request filters and the router. The
 *   response path then runs for the filters that ran, the replying one included (it may decorate
 *   its own reply, as CORS does).
 * - A local reply from a response-headers hook replaces the upstream response; the filters before
 *   it (lower phases) see the reply, the ones after it do not see it again.
 * - A hook that throws (or rejects) is a bug: the stream is answered 500 `FILTER_FAILED`; the
 *   failure is reported once to the {@link FilterErrorReporter}; the broken instance is skipped
 *   for the rest of the stream.
 */
import { failureInfo } from '../failures.js';
import type { FilterFactory, FilterResult, HookResult, RequestContext, ResponseContext, Respond, StreamFilter } from './api.js';
import { CONTINUE, isAsync, replaceBody, respond } from './api.js';
import type { FilterErrorReporter, HookName } from './filter-error-counter.js';
import type { HeaderMap } from './header-map.js';
import { sortByPhase } from './phases.js';

export type { FilterErrorReporter, HookName } from './filter-error-counter.js';
export { FilterErrorCounter } from './filter-error-counter.js';

const FAILED_INFO = failureInfo('FILTER_FAILED');

/** The 500 every filter failure turns into. */
export const FILTER_FAILED_RESULT: Respond = respond({
  status: FAILED_INFO.status,
  body: FAILED_INFO.body,
  responseFlag: FAILED_INFO.flag === '-' ? undefined : FAILED_INFO.flag,
  details: FAILED_INFO.details,
});

/** Stands in for an instance that threw: does nothing for the rest of the stream. */
const SKIPPED: StreamFilter = Object.freeze({});

/** The configured, ordered filters of one service port (or listener). Immutable. */
export class FilterChain {
  static readonly EMPTY = new FilterChain([], { filterFailed: () => undefined });

  readonly factories: readonly FilterFactory[];

  constructor(
    factories: readonly FilterFactory[],
    readonly errors: FilterErrorReporter,
  ) {
    this.factories = Object.freeze(sortByPhase(factories));
  }

  get isEmpty(): boolean {
    return this.factories.length === 0;
  }

  /** Creates the per-stream instances and the run that drives them. */
  start(ctx: RequestContext): ChainRun {
    const n = this.factories.length;
    const filters = new Array<StreamFilter>(n);
    for (let i = 0; i < n; i++) {
      const f = this.factories[i] as FilterFactory;
      try {
        filters[i] = f.create();
      } catch (err) {
        this.errors.filterFailed(f.name, 'create', err);
        filters[i] = FAILED_AT_START;
      }
    }
    return new ChainRun(this, filters, ctx);
  }
}

/** An instance whose factory threw: answers 500 when its turn comes. */
const FAILED_AT_START: StreamFilter = Object.freeze({
  onRequestHeaders: (): HookResult => FILTER_FAILED_RESULT,
});

/** One stream's pass through the chain. Call the steps in order; each may return a promise. */
export class ChainRun {
  /** Number of filters whose request path ran (the one that replied included). */
  private reached = 0;
  /** Next filter (index) for the response-headers path; set when the response path starts. */
  private responseCursor = -1;
  private responseStarted = false;
  /** Highest index whose response-body hook runs: the filters that saw the final headers. */
  private bodyTop = -1;
  private completed = false;

  constructor(
    private readonly chain: FilterChain,
    private readonly filters: StreamFilter[],
    private readonly ctx: RequestContext,
  ) {}

  /** True when some filter wants request body chunks (else the proxy streams the body straight). */
  get wantsRequestBody(): boolean {
    for (const f of this.filters) if (f.onRequestBody) return true;
    return false;
  }

  /** True when some filter that saw the response wants its body chunks. */
  get wantsResponseBody(): boolean {
    for (let i = Math.min(this.bodyTop, this.filters.length - 1); i >= 0; i--) if (this.filters[i]?.onResponseBody) return true;
    return false;
  }

  /** True when some filter wants request trailers (the body then passes through the chain). */
  get wantsRequestTrailers(): boolean {
    for (const f of this.filters) if (f.onRequestTrailers) return true;
    return false;
  }

  /** True when some filter that saw the response wants its trailers. */
  get wantsResponseTrailers(): boolean {
    for (let i = Math.min(this.bodyTop, this.filters.length - 1); i >= 0; i--) if (this.filters[i]?.onResponseTrailers) return true;
    return false;
  }

  requestHeaders(endOfStream: boolean): HookResult {
    const fs = this.filters;
    while (this.reached < fs.length) {
      const i = this.reached++;
      const f = fs[i] as StreamFilter;
      if (!f.onRequestHeaders) continue;
      let r: HookResult;
      try {
        r = f.onRequestHeaders(this.ctx, endOfStream);
      } catch (err) {
        return this.failed(i, 'onRequestHeaders', err);
      }
      if (isAsync(r)) return this.resumeRequestHeaders(r, i, endOfStream);
      if (r.action === 'respond') return r;
    }
    return CONTINUE;
  }

  private async resumeRequestHeaders(p: Promise<FilterResult>, i: number, endOfStream: boolean): Promise<FilterResult> {
    let r: FilterResult;
    try {
      r = await p;
    } catch (err) {
      return this.failed(i, 'onRequestHeaders', err);
    }
    if (r.action === 'respond') return r;
    return this.requestHeaders(endOfStream);
  }

  /**
   * Passes a request body chunk through every filter that ran. The returned `Continue.body`, when
   * set, is the chunk to forward instead of `chunk`.
   */
  requestBody(chunk: Buffer, endOfStream: boolean): HookResult {
    return this.requestBodyFrom(0, chunk, endOfStream);
  }

  private requestBodyFrom(start: number, chunk: Buffer, endOfStream: boolean): HookResult {
    let current = chunk;
    let replaced = false;
    for (let i = start; i < this.reached; i++) {
      const f = this.filters[i] as StreamFilter;
      if (!f.onRequestBody) continue;
      let r: HookResult;
      try {
        r = f.onRequestBody(this.ctx, current, endOfStream);
      } catch (err) {
        return this.failed(i, 'onRequestBody', err);
      }
      if (isAsync(r)) return this.resumeRequestBody(r, i, current, endOfStream);
      if (r.action === 'respond') return r;
      if (r.body) {
        current = r.body;
        replaced = true;
      }
    }
    return replaced ? { action: 'continue', body: current } : CONTINUE;
  }

  private async resumeRequestBody(p: Promise<FilterResult>, i: number, chunk: Buffer, endOfStream: boolean): Promise<FilterResult> {
    let r: FilterResult;
    try {
      r = await p;
    } catch (err) {
      return this.failed(i, 'onRequestBody', err);
    }
    if (r.action === 'respond') return r;
    const next = await this.requestBodyFrom(i + 1, r.body ?? chunk, endOfStream);
    if (next.action === 'respond' || next.body || !r.body) return next;
    return { action: 'continue', body: r.body };
  }

  /**
   * Runs response-headers hooks, last filter that ran first. On `respond`, the caller discards the
   * response it had, builds the local reply's {@link ResponseContext} and calls this again: the
   * run resumes below the filter that replied.
   */
  responseHeaders(response: ResponseContext, endOfStream: boolean): HookResult {
    if (!this.responseStarted) {
      this.responseStarted = true;
      this.responseCursor = this.reached - 1;
      this.bodyTop = this.reached - 1;
    }
    while (this.responseCursor >= 0) {
      const i = this.responseCursor--;
      const f = this.filters[i] as StreamFilter;
      if (!f.onResponseHeaders) continue;
      let r: HookResult;
      try {
        r = f.onResponseHeaders(this.ctx, response, endOfStream);
      } catch (err) {
        return this.responseFailed(i, 'onResponseHeaders', err);
      }
      if (isAsync(r)) return this.resumeResponseHeaders(r, i, response, endOfStream);
      if (r.action === 'respond') {
        this.bodyTop = i - 1;
        return r;
      }
    }
    return CONTINUE;
  }

  private async resumeResponseHeaders(p: Promise<FilterResult>, i: number, response: ResponseContext, endOfStream: boolean): Promise<FilterResult> {
    let r: FilterResult;
    try {
      r = await p;
    } catch (err) {
      return this.responseFailed(i, 'onResponseHeaders', err);
    }
    if (r.action === 'respond') {
      this.bodyTop = i - 1;
      return r;
    }
    return this.responseHeaders(response, endOfStream);
  }

  /**
   * Passes a response body chunk through the filters that saw the final response headers, in
   * reverse order. A `respond` here means: reset the stream (the headers have left).
   */
  responseBody(response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult {
    return this.responseBodyFrom(this.bodyTop, response, chunk, endOfStream);
  }

  private responseBodyFrom(start: number, response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult {
    let current = chunk;
    let replaced = false;
    for (let i = start; i >= 0; i--) {
      const f = this.filters[i] as StreamFilter;
      if (!f.onResponseBody) continue;
      let r: HookResult;
      try {
        r = f.onResponseBody(this.ctx, response, current, endOfStream);
      } catch (err) {
        return this.failed(i, 'onResponseBody', err);
      }
      if (isAsync(r)) return this.resumeResponseBody(r, i, response, current, endOfStream);
      if (r.action === 'respond') return r;
      if (r.body) {
        current = r.body;
        replaced = true;
      }
    }
    return replaced ? { action: 'continue', body: current } : CONTINUE;
  }

  private async resumeResponseBody(
    p: Promise<FilterResult>,
    i: number,
    response: ResponseContext,
    chunk: Buffer,
    endOfStream: boolean,
  ): Promise<FilterResult> {
    let r: FilterResult;
    try {
      r = await p;
    } catch (err) {
      return this.failed(i, 'onResponseBody', err);
    }
    if (r.action === 'respond') return r;
    const next = await this.responseBodyFrom(i - 1, response, r.body ?? chunk, endOfStream);
    if (next.action === 'respond' || next.body || !r.body) return next;
    return { action: 'continue', body: r.body };
  }

  /**
   * Passes the request trailers (edited in place) through every filter that ran. A returned
   * `Continue.body` is held-back body data to send before the trailers.
   */
  requestTrailers(trailers: HeaderMap): HookResult {
    return this.trailersFrom(0, 1, trailers, undefined, undefined);
  }

  /** Passes the response trailers through the filters that saw the final headers, in reverse. */
  responseTrailers(response: ResponseContext, trailers: HeaderMap): HookResult {
    return this.trailersFrom(this.bodyTop, -1, trailers, response, undefined);
  }

  /** One walk for both directions: `step` 1 (request, up to `reached`) or -1 (response, down to 0). */
  private trailersFrom(start: number, step: 1 | -1, trailers: HeaderMap, response: ResponseContext | undefined, held: Buffer | undefined): HookResult {
    let out = held;
    const hook: HookName = response ? 'onResponseTrailers' : 'onRequestTrailers';
    for (let i = start; step === 1 ? i < this.reached : i >= 0; i += step) {
      const f = this.filters[i] as StreamFilter;
      let r: HookResult;
      try {
        if (response) {
          if (!f.onResponseTrailers) continue;
          r = f.onResponseTrailers(this.ctx, response, trailers);
        } else {
          if (!f.onRequestTrailers) continue;
          r = f.onRequestTrailers(this.ctx, trailers);
        }
      } catch (err) {
        return this.failed(i, hook, err);
      }
      if (isAsync(r)) return this.resumeTrailers(r, i, step, trailers, response, out);
      if (r.action === 'respond') return r;
      if (r.body && r.body.length > 0) out = out ? Buffer.concat([out, r.body]) : r.body;
    }
    return out ? replaceBody(out) : CONTINUE;
  }

  private async resumeTrailers(
    p: Promise<FilterResult>,
    i: number,
    step: 1 | -1,
    trailers: HeaderMap,
    response: ResponseContext | undefined,
    held: Buffer | undefined,
  ): Promise<FilterResult> {
    let r: FilterResult;
    try {
      r = await p;
    } catch (err) {
      return this.failed(i, response ? 'onResponseTrailers' : 'onRequestTrailers', err);
    }
    if (r.action === 'respond') return r;
    let out = held;
    if (r.body && r.body.length > 0) out = out ? Buffer.concat([out, r.body]) : r.body;
    return this.trailersFrom(i + step, step, trailers, response, out);
  }

  /** The stream is over: tells every filter that ran, once. Never throws. */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    for (let i = 0; i < this.reached; i++) {
      const f = this.filters[i] as StreamFilter;
      if (!f.onStreamComplete) continue;
      try {
        f.onStreamComplete(this.ctx);
      } catch (err) {
        this.report(i, 'onStreamComplete', err);
      }
    }
  }

  private failed(i: number, hook: HookName, err: unknown): Respond {
    this.report(i, hook, err);
    this.filters[i] = SKIPPED;
    return FILTER_FAILED_RESULT;
  }

  /** A response-headers failure: like a reply from that filter (the ones below see the 500). */
  private responseFailed(i: number, hook: HookName, err: unknown): Respond {
    this.bodyTop = i - 1;
    return this.failed(i, hook, err);
  }

  private report(i: number, hook: HookName, err: unknown): void {
    const name = this.chain.factories[i]?.name ?? `#${i}`;
    this.chain.errors.filterFailed(name, hook, err);
  }
}
