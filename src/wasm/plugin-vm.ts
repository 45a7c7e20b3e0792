/**
 * One running instance of a plugin module: the linked WebAssembly instance, its root context, the
 * stream contexts open on it, and the bookkeeping the ABI asks of a host (current and effective
 * context, deferred effects, timers, http_call tokens).
 *
 * Safety: every call into the plugin goes through {@link PluginVm.call}, which catches anything
 * the plugin throws (a trap, `unreachable` from a Rust or Go panic, an out-of-bounds access, a
 * host-side bug surfacing through a host call). The first failure marks the VM failed: its timers
 * stop, paused streams are released with their fail result, and the owner ({@link PluginHandle})
 * builds a fresh VM from the same compiled module for later streams. Nothing the plugin does can
 * throw into the proxy, and a failed VM's memory is never used again.
 */
import { Action } from './abi.js';
import type { HeaderAccess } from './header-access.js';
import { PairsAccess } from './header-access.js';
import type { Pair } from './header-pairs.js';
import type { HttpCallDispatcher, HttpCallResponse } from './http-call.js';
import { GuestMemory } from './guest-memory.js';
import type { CompiledPlugin } from './compiled-plugin.js';
import { buildImports } from './import-object.js';
import type { PluginMetrics } from './plugin-metrics.js';
import type { NodeInfo, PropertyScope } from './properties.js';
import type { SharedState } from './shared-data.js';
import { ProcExit } from './wasi-imports.js';
import { FUEL_EXPORT, FUEL_PER_CALLBACK } from './loop-fuel.js';
import type { RequestContext, ResponseContext } from '../filter/api.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Returned by {@link PluginVm.call} when the plugin failed during the call. */
export const TRAPPED = -1;

/** A body a plugin can read (and, for request/response bodies, edit). */
export interface BodyRef {
  data: Buffer;
  readonly writable: boolean;
}

export interface PluginLocalReply {
  readonly status: number;
  readonly details: string;
  readonly body: Buffer;
  readonly headers: readonly Pair[];
  /** -1 when none. */
  readonly grpcStatus: number;
}

/** The host side of one HTTP stream context, as the ABI functions see it. */
export interface StreamSide {
  readonly request: RequestContext | undefined;
  readonly response: ResponseContext | undefined;
  map(type: number): HeaderAccess | undefined;
  body(type: number): BodyRef | undefined;
  continueStream(streamType: number): void;
  sendLocalReply(reply: PluginLocalReply): void;
  closeStream(streamType: number): void;
  /** After a callback returned: apply deferred effects (resume, reply). */
  settle(): void;
  /** The VM failed: release anything waiting. */
  vmFailed(): void;
}

export type PluginLogSink = (level: number, pluginName: string, message: string) => void;

export interface PluginVmOptions {
  readonly compiled: CompiledPlugin;
  /** `<namespace>.<name>`, what `plugin_name` reports and logs carry. */
  readonly pluginName: string;
  /** `spec.pluginName` (may be empty). */
  readonly rootId: string;
  readonly vmId: string;
  readonly pluginConfig: Buffer;
  readonly vmConfig: Buffer;
  readonly env: ReadonlyMap<string, string>;
  readonly shared: SharedState;
  readonly metrics: PluginMetrics;
  readonly httpCalls: HttpCallDispatcher;
  readonly node: NodeInfo;
  readonly log: PluginLogSink;
  /** Messages below this proxy-wasm level are dropped (and reported by `proxy_get_log_level`). */
  readonly logLevel: number;
}

type ContextEntry = { readonly kind: 'root' } | { readonly kind: 'stream'; readonly side: StreamSide };

/** Data only valid during one callback (config buffers, an http_call response). */
interface CallScoped {
  readonly buffers: ReadonlyMap<number, BodyRef>;
  readonly maps: ReadonlyMap<number, HeaderAccess>;
}

const NO_SCOPE: CallScoped = { buffers: new Map(), maps: new Map() };

export class PluginVm {
  readonly memory = new GuestMemory();
  private exports: WebAssembly.Exports = {};
  /** The loop budget of an instrumented module (`loop-fuel.ts`), refilled before each callback. */
  private fuel: WebAssembly.Global | undefined;
  private nextContextId = 1;
  readonly rootContextId: number;
  private readonly contexts = new Map<number, ContextEntry>();
  currentContextId = 0;
  effectiveContextId = 0;
  private scope: CallScoped = NO_SCOPE;
  private readonly dirty = new Set<StreamSide>();
  private tick: NodeJS.Timeout | undefined;
  private nextToken = 1;
  private failedReason: string | undefined;
  /** Result of the last failed call (for `proxy_get_status`). */
  status: { code: number; message: string } = { code: 0, message: '' };
  readonly rootState = new Map<string, Buffer>();

  constructor(readonly opts: PluginVmOptions) {
    this.rootContextId = this.nextContextId++;
    this.contexts.set(this.rootContextId, { kind: 'root' });
  }

  get failed(): boolean {
    return this.failedReason !== undefined;
  }

  get failure(): string | undefined {
    return this.failedReason;
  }

  /**
   * Links and starts the VM: WASI start-up, root context, `on_vm_start`, `on_configure`. Returns
   * an error message (for the plugin's failure state and log) or undefined on success.
   */
  start(): string | undefined {
    const c = this.opts.compiled;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(c.module, buildImports(c.module, this));
    } catch (err) {
      return this.markFailed(`link failed: ${message(err)}`);
    }
    this.exports = instance.exports;
    const fuel = this.exports[FUEL_EXPORT];
    if (fuel instanceof WebAssembly.Global) this.fuel = fuel;
    const mem = this.exports['memory'];
    if (!(mem instanceof WebAssembly.Memory)) return this.markFailed('module exports no memory');
    const alloc = this.exports['malloc'] ?? this.exports['proxy_on_memory_allocate'];
    if (typeof alloc !== 'function') return this.markFailed('module exports neither malloc nor proxy_on_memory_allocate');
    this.memory.bind(mem, (n) => (alloc as (n: number) => number)(n));
    try {
      if (typeof this.exports['_initialize'] === 'function') {
        (this.exports['_initialize'] as () => void)();
        if (typeof this.exports['main'] === 'function') (this.exports['main'] as (a: number, b: number) => number)(0, 0);
        else if (typeof this.exports['__main_void'] === 'function') (this.exports['__main_void'] as () => number)();
      } else if (typeof this.exports['_start'] === 'function') {
        (this.exports['_start'] as () => void)();
      }
    } catch (err) {
      if (!(err instanceof ProcExit && err.code === 0)) return this.markFailed(`start-up failed: ${message(err)}`);
    }
    const root = this.rootContextId;
    if (this.call(root, 'proxy_on_context_create', root, 0) === TRAPPED) return this.failedReason;
    this.scope = { buffers: new Map([[6, { data: this.opts.vmConfig, writable: false }]]), maps: new Map() };
    const vmStart = this.call(root, 'proxy_on_vm_start', root, this.opts.vmConfig.length);
    this.scope = NO_SCOPE;
    if (vmStart === TRAPPED) return this.failedReason;
    if (vmStart === 0 && this.has('proxy_on_vm_start')) return this.markFailed('proxy_on_vm_start returned false');
    this.scope = { buffers: new Map([[7, { data: this.opts.pluginConfig, writable: false }]]), maps: new Map() };
    const configured = this.call(root, 'proxy_on_configure', root, this.opts.pluginConfig.length);
    this.scope = NO_SCOPE;
    if (configured === TRAPPED) return this.failedReason;
    if (configured === 0 && this.has('proxy_on_configure')) return this.markFailed('proxy_on_configure returned false');
    this.afterCall();
    return undefined;
  }

  has(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  /**
   * Calls an export with `contextId` as the current (and effective) context. Missing exports
   * answer CONTINUE (0); a failure answers {@link TRAPPED}.
   */
  call(contextId: number, name: string, ...args: number[]): number {
    if (this.failedReason !== undefined) return TRAPPED;
    const f = this.exports[name];
    if (typeof f !== 'function') return Action.CONTINUE;
    const prevCurrent = this.currentContextId;
    const prevEffective = this.effectiveContextId;
    this.currentContextId = contextId;
    this.effectiveContextId = contextId;
    if (this.fuel) this.fuel.value = FUEL_PER_CALLBACK;
    try {
      const r: unknown = (f as (...a: number[]) => unknown)(...args);
      return typeof r === 'number' ? r : Action.CONTINUE;
    } catch (err) {
      this.markFailed(`${name} failed: ${message(err)}`);
      return TRAPPED;
    } finally {
      this.currentContextId = prevCurrent;
      this.effectiveContextId = prevEffective;
    }
  }

  /** Applies effects the last callback queued (resumes, local replies) now that it returned. */
  afterCall(): void {
    if (this.dirty.size === 0) return;
    const sides = [...this.dirty];
    this.dirty.clear();
    for (const s of sides) s.settle();
  }

  markDirty(side: StreamSide): void {
    this.dirty.add(side);
  }

  /** Opens a stream context on the root (`proxy_on_context_create(id, root)`); TRAPPED on failure. */
  openStream(side: StreamSide): number {
    const id = this.nextContextId++;
    this.contexts.set(id, { kind: 'stream', side });
    if (this.call(id, 'proxy_on_context_create', id, this.rootContextId) === TRAPPED) return TRAPPED;
    return id;
  }

  /** Ends a stream context: `on_done` → `on_log` → `on_delete` (on_log always before delete). */
  closeStream(id: number): void {
    if (!this.contexts.has(id)) return;
    this.call(id, 'proxy_on_done', id);
    this.call(id, 'proxy_on_log', id);
    this.call(id, 'proxy_on_delete', id);
    this.contexts.delete(id);
    this.afterCall();
  }

  context(id: number): ContextEntry | undefined {
    return this.contexts.get(id);
  }

  /** The stream the ABI calls act on (the effective context), if it is a stream. */
  effectiveStream(): StreamSide | undefined {
    const c = this.contexts.get(this.effectiveContextId);
    return c?.kind === 'stream' ? c.side : undefined;
  }

  map(type: number): HeaderAccess | undefined {
    return this.scope.maps.get(type) ?? this.effectiveStream()?.map(type);
  }

  buffer(type: number): BodyRef | undefined {
    return this.scope.buffers.get(type) ?? this.effectiveStream()?.body(type);
  }

  propertyScope(): PropertyScope {
    const s = this.effectiveStream();
    return {
      pluginName: this.opts.pluginName,
      rootId: this.opts.rootId,
      vmId: this.opts.vmId,
      node: this.opts.node,
      ...(s?.request ? { request: s.request } : {}),
      ...(s?.response ? { response: s.response } : {}),
      rootState: this.rootState,
    };
  }

  log(level: number, msg: string): void {
    if (level >= this.opts.logLevel) this.opts.log(level, this.opts.pluginName, msg);
  }

  /** The root context's timer (`proxy_set_tick_period_milliseconds`); 0 stops it. */
  setTickPeriod(ms: number): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    if (ms <= 0 || this.failed) return;
    const root = this.rootContextId;
    // Node turns a delay past 2^31-1 ms into 1 ms: a plugin asking for "almost never" (u32 max)
    // would be ticked a thousand times a second. Clamp to the longest delay Node can keep (~24.8 days).
    this.tick = setInterval(
      () => {
        this.call(root, 'proxy_on_tick', root);
        this.afterCall();
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    this.tick.unref();
  }

  queueReady(rootId: number, queueId: number): void {
    if (this.failed) return;
    this.call(rootId, 'proxy_on_queue_ready', rootId, queueId);
    this.afterCall();
  }

  /** Starts an http_call attributed to the root context; returns the token. */
  startHttpCall(cluster: string, headers: readonly Pair[], body: Buffer, timeoutMs: number): number | undefined {
    const d = this.opts.httpCalls;
    const target = d.resolve(cluster);
    if (!target) return undefined;
    const token = this.nextToken++;
    void d.send(target, headers, body, timeoutMs).then((res) => this.httpCallDone(token, res));
    return token;
  }

  private httpCallDone(token: number, res: HttpCallResponse): void {
    if (this.failed) return;
    const root = this.rootContextId;
    if (res.ok) {
      this.status = { code: 0, message: '' };
      this.scope = {
        buffers: new Map([[4, { data: res.body, writable: false }]]),
        maps: new Map<number, HeaderAccess>([
          [6, new PairsAccess(res.headers)],
          [7, new PairsAccess(res.trailers)],
        ]),
      };
      this.call(root, 'proxy_on_http_call_response', root, token, res.headers.length, res.body.length, res.trailers.length);
    } else {
      // Envoy: a failed call is delivered with zero headers and status BROKEN_CONNECTION "reset".
      this.status = { code: 9, message: res.reason };
      this.scope = NO_SCOPE;
      this.call(root, 'proxy_on_http_call_response', root, token, 0, 0, 0);
    }
    this.scope = NO_SCOPE;
    this.afterCall();
  }

  private markFailed(reason: string): string {
    if (this.failedReason !== undefined) return this.failedReason;
    this.failedReason = reason;
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    this.opts.log(5, this.opts.pluginName, `plugin failed, VM discarded: ${reason}`);
    // Streams paused on this VM must not hang: they get their fail result.
    for (const c of this.contexts.values()) if (c.kind === 'stream') c.side.vmFailed();
    this.dirty.clear();
    return reason;
  }

  /** Stops timers; the VM is dropped by its owner. */
  dispose(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
}
