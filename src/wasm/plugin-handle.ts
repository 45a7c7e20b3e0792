/**
 * One configured plugin (a WasmPlugin object, as of one config version): its module load, its
 * current VM, and the rebuild policy. Implements what the Wasm filter needs
 * ({@link WasmPluginRuntime}).
 *
 * Rebuild: when the VM fails (a trap, a bad start), the next stream builds a fresh VM from the
 * same compiled module (new memory, new contexts; shared data and metrics live outside the VM and
 * survive). A plugin that keeps failing is rebuilt with a growing delay (0, then 100 ms doubling
 * up to 30 s, reset by a stream that completes cleanly), during which the fail strategy applies —
 * the crash-loop rate limit the spec asks for.
 *
 * Load: a module that could not be fetched or compiled is tried again in the background (when
 * the handle was given a loader, not a fixed result) after 1 s, doubling up to 5 min, so a
 * registry that was briefly down does not leave the plugin failed until its WasmPlugin changes.
 * Meanwhile the fail strategy applies (Istio's agent also retries its downloads).
 */
import type { FilterResult } from '../filter/api.js';
import type { WasmPluginRuntime, WasmStreamHooks } from '../../filters/wasm/wasm-filter.js';
import type { CompileResult, CompiledPlugin } from './compiled-plugin.js';
import { WasmHttpStream } from './http-stream.js';
import type { PluginVmOptions } from './plugin-vm.js';
import { PluginVm } from './plugin-vm.js';

export type PluginVmSettings = Omit<PluginVmOptions, 'compiled'> & {
  /** Body bytes a stream may hold while the plugin pauses it; default 1 MiB (Envoy). */
  readonly bufferLimitBytes?: number;
};

const MAX_BACKOFF_MS = 30_000;
const LOAD_RETRY_BASE_MS = 1000;
const LOAD_RETRY_MAX_MS = 5 * 60_000;

/** How a handle gets its module: a result, or a loader it may call again after a failure. */
export type PluginLoad = Promise<CompileResult> | (() => Promise<CompileResult>);

/** Callbacks that need bodies or trailers passed through the plugin. */
const STREAM_DATA_CALLBACKS = ['proxy_on_request_body', 'proxy_on_response_body', 'proxy_on_request_trailers', 'proxy_on_response_trailers'];

export class PluginHandle implements WasmPluginRuntime {
  private compiled: CompiledPlugin | undefined;
  private loadError: string | undefined;
  private readonly loading: Promise<void>;
  private vm: PluginVm | undefined;
  private failures = 0;
  private lastFailure: string | undefined;
  private nextBuildAt = 0;
  private closed = false;
  private loadAttempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** VMs built so far (tests, admin). */
  builds = 0;

  constructor(
    readonly settings: PluginVmSettings,
    private readonly load: PluginLoad,
    private readonly now: () => number = Date.now,
    /** First delay before a failed load is tried again (doubling, capped at 5 min). */
    private readonly loadRetryBaseMs: number = LOAD_RETRY_BASE_MS,
  ) {
    this.loading = this.attemptLoad();
  }

  /** Module loads attempted so far (tests, admin). */
  get loadsAttempted(): number {
    return this.loadAttempts;
  }

  private attemptLoad(): Promise<void> {
    this.loadAttempts++;
    const pending = typeof this.load === 'function' ? this.load() : this.load;
    return pending.then(
      (r) => {
        if (r.ok) {
          this.compiled = r.plugin;
          this.loadError = undefined;
        } else this.fail(`module load failed: ${r.error}`);
      },
      (err: unknown) => this.fail(`module load failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  private fail(reason: string): void {
    this.loadError = reason;
    const retry = typeof this.load === 'function' && !this.closed;
    const delay = Math.min(LOAD_RETRY_MAX_MS, this.loadRetryBaseMs * 2 ** (this.loadAttempts - 1));
    this.settings.log(5, this.settings.pluginName, retry ? `${reason} (trying again in ${delay} ms)` : reason);
    if (!retry) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) void this.attemptLoad();
    }, delay);
    this.retryTimer.unref();
  }

  state(): 'loading' | 'ready' | 'failed' {
    if (this.compiled) return 'ready';
    return this.loadError !== undefined ? 'failed' : 'loading';
  }

  loaded(): Promise<void> {
    return this.loading;
  }

  /** Why the module could not be loaded, when it could not. */
  get error(): string | undefined {
    return this.loadError ?? this.vm?.failure ?? this.lastFailure;
  }

  get wantsBodies(): boolean {
    const e = this.compiled?.exports;
    if (e === undefined) return false;
    for (const name of STREAM_DATA_CALLBACKS) if (e.has(name)) return true;
    return false;
  }

  openStream(failed: FilterResult): WasmStreamHooks | undefined {
    const vm = this.liveVm();
    return vm ? new WasmHttpStream(vm, failed, this.onClean, this.settings.bufferLimitBytes) : undefined;
  }

  private readonly onClean = (): void => {
    this.failures = 0;
  };

  /** The running VM, building one when there is none (or the last one failed) and backoff allows. */
  liveVm(): PluginVm | undefined {
    if (this.closed || !this.compiled) return undefined;
    if (this.vm && !this.vm.failed) return this.vm;
    if (this.vm) {
      this.lastFailure = this.vm.failure;
      this.vm.dispose();
      this.vm = undefined;
      this.noteFailure();
    }
    if (this.now() < this.nextBuildAt) return undefined;
    const vm = new PluginVm({ ...this.settings, compiled: this.compiled });
    this.builds++;
    const err = vm.start();
    if (err !== undefined) {
      this.lastFailure = err;
      vm.dispose();
      this.noteFailure();
      return undefined;
    }
    this.vm = vm;
    return vm;
  }

  private noteFailure(): void {
    this.failures++;
    const delay = this.failures <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.failures - 2));
    this.nextBuildAt = this.now() + delay;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.vm?.dispose();
    this.vm = undefined;
  }
}
