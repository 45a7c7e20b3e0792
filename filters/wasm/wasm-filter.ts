/**
 * `envoy.filters.http.wasm`: adapts a proxy-wasm plugin to the filter API. The plugin itself runs
 * in the host (`src/wasm/`), which this filter reaches only through {@link WasmPluginRuntime}, the
 * interface it declares here and the host implements (filters import nothing but `src/filter/`).
 *
 * This file owns the Istio policy around a plugin:
 * - `failStrategy`: while the module is still being fetched or prepared, when it could not be
 *   loaded, when the VM cannot start, or when it fails (traps) while handling a stream,
 *   FAIL_CLOSE answers 503 (details `wasm_fail_stream`, as Envoy's `CHECK_FAIL_HTTP`) and
 *   FAIL_OPEN skips the plugin for that stream. Requests never wait for a module: preparing a
 *   large one takes seconds, and a request held that long (or a proxy stalled by it) is worse
 *   than the answer the operator chose for a plugin that is not there.
 */
import type { FilterFactory, FilterPhase, FilterResult, HeaderMap, HookResult, RequestContext, ResponseContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';

export type FailStrategy = 'FAIL_CLOSE' | 'FAIL_OPEN';

/** One stream of a running plugin, driven by the filter hooks. */
export interface WasmStreamHooks {
  onRequestHeaders(ctx: RequestContext, endOfStream: boolean): HookResult;
  onRequestBody(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): HookResult;
  onResponseHeaders(ctx: RequestContext, response: ResponseContext, endOfStream: boolean): HookResult;
  onResponseBody(ctx: RequestContext, response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult;
  onRequestTrailers(ctx: RequestContext, trailers: HeaderMap): HookResult;
  onResponseTrailers(ctx: RequestContext, response: ResponseContext, trailers: HeaderMap): HookResult;
  onStreamComplete(ctx: RequestContext): void;
}

/** What the filter needs from the Wasm host for one configured plugin. */
export interface WasmPluginRuntime {
  /** `loading` until the module is fetched and compiled; `failed` when that failed for good. */
  state(): 'loading' | 'ready' | 'failed';
  /** Settles when loading ends (either way). */
  loaded(): Promise<void>;
  /**
   * True when the plugin exports body or trailer callbacks: only then does the proxy pass bodies
   * and trailers through it.
   */
  readonly wantsBodies: boolean;
  /**
   * A new stream on a live VM, or undefined when no VM can run now (start-up failed, rebuild
   * backing off). `failed` is what a hook returns if the VM fails during the stream.
   */
  openStream(failed: FilterResult): WasmStreamHooks | undefined;
}

export interface WasmFilterConfig {
  /** `<namespace>.<name>` of the WasmPlugin. */
  readonly name: string;
  readonly phase: FilterPhase;
  readonly failStrategy: FailStrategy;
  readonly plugin: WasmPluginRuntime;
}

const FAIL_CLOSED = respond({ status: 503, body: 'wasm plugin failed', details: 'wasm_fail_stream' });

export function createWasmFilterFactory(config: WasmFilterConfig): FilterFactory {
  const failed: FilterResult = config.failStrategy === 'FAIL_OPEN' ? CONTINUE : FAIL_CLOSED;
  const name = `envoy.filters.http.wasm/${config.name}`;
  return {
    name,
    phase: config.phase,
    // Until the module is loaded its callbacks are unknown, so the stream takes the body hooks
    // (which pass chunks straight on when the plugin turns out not to want them).
    create: (): StreamFilter =>
      config.plugin.state() === 'ready' && !config.plugin.wantsBodies ? new WasmFilter(config.plugin, failed) : new WasmBodyFilter(config.plugin, failed),
  };
}

class WasmFilter implements StreamFilter {
  protected hooks: WasmStreamHooks | undefined;

  constructor(
    private readonly plugin: WasmPluginRuntime,
    private readonly failed: FilterResult,
  ) {}

  onRequestHeaders(ctx: RequestContext, endOfStream: boolean): HookResult {
    if (this.plugin.state() !== 'ready') return this.failed;
    this.hooks = this.plugin.openStream(this.failed);
    if (!this.hooks) return this.failed;
    return this.hooks.onRequestHeaders(ctx, endOfStream);
  }

  onResponseHeaders(ctx: RequestContext, response: ResponseContext, endOfStream: boolean): HookResult {
    return this.hooks ? this.hooks.onResponseHeaders(ctx, response, endOfStream) : CONTINUE;
  }

  onStreamComplete(ctx: RequestContext): void {
    this.hooks?.onStreamComplete(ctx);
  }
}

/** Bodies and trailers too: trailer hooks also release a body the plugin held back. */
class WasmBodyFilter extends WasmFilter {
  onRequestTrailers(ctx: RequestContext, trailers: HeaderMap): HookResult {
    return this.hooks ? this.hooks.onRequestTrailers(ctx, trailers) : CONTINUE;
  }

  onResponseTrailers(ctx: RequestContext, response: ResponseContext, trailers: HeaderMap): HookResult {
    return this.hooks ? this.hooks.onResponseTrailers(ctx, response, trailers) : CONTINUE;
  }

  onRequestBody(ctx: RequestContext, chunk: Buffer, endOfStream: boolean): HookResult {
    return this.hooks ? this.hooks.onRequestBody(ctx, chunk, endOfStream) : CONTINUE;
  }

  onResponseBody(ctx: RequestContext, response: ResponseContext, chunk: Buffer, endOfStream: boolean): HookResult {
    return this.hooks ? this.hooks.onResponseBody(ctx, response, chunk, endOfStream) : CONTINUE;
  }
}
