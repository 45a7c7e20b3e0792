/**
 * The Wasm side of one waypoint: which WasmPlugins apply to a service port (targetRefs, `match`),
 * in which order (phase, then priority descending, then name and namespace, as istiod orders
 * them), and the plugin instances behind them. State shared across plugins (shared data, queues,
 * plugin metrics) lives here, outside any VM, so it survives VM rebuilds.
 *
 * A plugin instance ({@link PluginHandle}) is keyed by everything that changes what runs (module
 * source, config, env, root id): a config reload that leaves a plugin alone keeps its running VM,
 * an edited plugin gets a fresh one, and instances no longer in the config are closed.
 */
import type { ServiceIR, Snapshot, WaypointIR, WaypointRef } from '../config/ir.js';
import type { WasmPhaseIR, WasmPluginIR } from '../config/ir-wasm.js';
import type { FilterFactory, FilterPhase } from '../filter/api.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import { appliesTo } from '../security/security-chains.js';
import { createWasmFilterFactory } from '../../filters/wasm/wasm-filter.js';
import { LOG_LEVEL_NAMES } from './abi.js';
import type { CompileResult } from './compiled-plugin.js';
import type { HttpCallDispatcher } from './http-call.js';
import { NO_HTTP_CALLS } from './http-call.js';
import type { ModuleFetchOptions, ModuleRequest } from './module-source.js';
import { fetchModule } from './module-source.js';
import type { PrepareOptions } from './module-preparer.js';
import { prepareModule } from './module-preparer.js';
import { PluginHandle } from './plugin-handle.js';
import { PluginMetrics } from './plugin-metrics.js';
import type { PluginLogSink } from './plugin-vm.js';
import type { NodeInfo } from './properties.js';
import { SharedState } from './shared-data.js';

export interface WasmRuntimeOptions {
  /** The waypoint this runtime serves: WasmPlugins attached to its Gateway apply, also as a canary. */
  readonly self?: WaypointRef;
  readonly httpCalls?: HttpCallDispatcher;
  /** Plugin log lines (level 0..5 = trace..critical); default: one line on stderr. */
  readonly log?: PluginLogSink;
  /** Lowest plugin log level passed on (default 2, info). */
  readonly logLevel?: number;
  readonly node?: NodeInfo;
  readonly fetch?: ModuleFetchOptions;
  /** Module loader (tests); default {@link fetchModule}. */
  readonly loadModule?: (req: ModuleRequest) => Promise<Uint8Array>;
  /** Instrument loops so a plugin that spins forever traps (`loop-fuel.ts`); default true. */
  readonly loopFuel?: boolean;
  /**
   * The waypoint's views and identity: with them, plugins that apply to one of its services start
   * loading as soon as a view names them, not at the first request (which, until the module is
   * ready, gets the plugin's fail strategy).
   */
  readonly view?: ViewSource;
  readonly waypoint?: { readonly namespace: string; readonly name: string };
  /** Bounds on making a module ready off the event loop (`module-preparer.ts`): time, size, heap. */
  readonly prepare?: Omit<PrepareOptions, 'loopFuel'>;
  /** Body bytes a stream may hold while a plugin pauses it (413 past it); default 1 MiB, Envoy's buffer limit. */
  readonly bufferLimitBytes?: number;
}

const PHASE: Readonly<Record<WasmPhaseIR, FilterPhase>> = {
  AUTHN: 'WASM_AUTHN',
  AUTHZ: 'WASM_AUTHZ',
  STATS: 'WASM_STATS',
  UNSPECIFIED: 'WASM_UNSPECIFIED',
};

const DEFAULT_NODE: NodeInfo = { id: 'waypoint~127.0.0.1~waypoint.default~default.svc.cluster.local', cluster: 'waypoint.default', metadata: {} };

export const defaultPluginLog: PluginLogSink = (level, plugin, msg) => {
  process.stderr.write(`wasm log ${plugin} [${LOG_LEVEL_NAMES[level] ?? level}]: ${msg}\n`);
};

export class WasmRuntime {
  readonly shared = new SharedState();
  readonly metrics = new PluginMetrics();
  private readonly handles = new Map<string, PluginHandle>();
  private lastSnapshot: Snapshot | undefined;
  private closed = false;
  private readonly unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: WasmRuntimeOptions = {}) {
    const { view, waypoint } = opts;
    if (view && waypoint) {
      this.unsubscribe = view.onChange((v) => this.warm(v, waypoint));
      this.warm(view.current(), waypoint);
    }
  }

  /** Starts loading every plugin that applies to a service of this waypoint in `view`. */
  private warm(view: MeshView, ref: { readonly namespace: string; readonly name: string }): void {
    const snapshot = view.snapshot;
    const all = snapshot.wasmPlugins ?? [];
    if (snapshot !== this.lastSnapshot) this.retain(snapshot, all);
    if (all.length === 0 || this.closed) return;
    const wp = view.waypoint(ref.namespace, ref.name);
    if (!wp) return;
    const served = view.servicesOfWaypoint(wp);
    for (const p of all) if (served.some((svc) => appliesTo(p, snapshot, wp, svc))) this.handleFor(p);
  }

  /** The Wasm filter factories for one service port, in chain order. */
  factoriesFor(view: MeshView, target: ServiceTarget): FilterFactory[] {
    const snapshot = view.snapshot;
    const all = snapshot.wasmPlugins ?? [];
    if (snapshot !== this.lastSnapshot) this.retain(snapshot, all);
    if (all.length === 0 || this.closed) return [];
    const wp: WaypointIR | undefined = view.servingWaypoint(target.service, this.opts.self);
    const applicable = all.filter((p) => appliesTo(p, snapshot, wp, target.service) && matches(p, target.service, target.port.port));
    applicable.sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
    return applicable.map((p) =>
      createWasmFilterFactory({ name: `${p.namespace}.${p.name}`, phase: PHASE[p.phase], failStrategy: p.failStrategy, plugin: this.handleFor(p) }),
    );
  }

  /** The instance of a plugin (created and loading on first use). */
  handleFor(p: WasmPluginIR): PluginHandle {
    const key = fingerprint(p);
    let h = this.handles.get(key);
    if (!h) {
      const req: ModuleRequest = { url: p.url, ...(p.sha256 !== undefined ? { sha256: p.sha256 } : {}), pullPolicy: p.imagePullPolicy };
      const pluginName = `${p.namespace}.${p.name}`;
      const log = this.opts.log ?? defaultPluginLog;
      const fetchBytes = this.opts.loadModule ?? ((r: ModuleRequest) => fetchModule(r, this.opts.fetch));
      // A function, so the handle can try again after a failed fetch or compile. Instrumenting
      // and compiling run in a worker thread: the event loop never waits on a large module.
      const load = (): Promise<CompileResult> =>
        fetchBytes(req).then(async (bytes) => {
          const r = await prepareModule(bytes, { ...this.opts.prepare, loopFuel: this.opts.loopFuel !== false });
          if (r.ok && r.warning !== undefined) log(3, pluginName, r.warning);
          return r.ok ? { ok: true, plugin: r.plugin } : r;
        });
      const env = new Map(Object.entries(p.env));
      for (const k of p.hostEnvKeys) {
        const v = process.env[k];
        if (v !== undefined) env.set(k, v);
      }
      h = new PluginHandle(
        {
          pluginName,
          rootId: p.pluginName,
          vmId: '',
          pluginConfig: Buffer.from(p.pluginConfig, 'utf8'),
          vmConfig: Buffer.alloc(0),
          env,
          shared: this.shared,
          metrics: this.metrics,
          httpCalls: this.opts.httpCalls ?? NO_HTTP_CALLS,
          node: this.opts.node ?? DEFAULT_NODE,
          log,
          logLevel: this.opts.logLevel ?? 2,
          ...(this.opts.bufferLimitBytes !== undefined ? { bufferLimitBytes: this.opts.bufferLimitBytes } : {}),
        },
        load,
      );
      this.handles.set(key, h);
    }
    return h;
  }

  /** Settles when every plugin instance started so far has finished loading (either way). */
  async settled(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.loaded()));
  }

  /** Closes instances of plugins that are no longer configured. */
  private retain(snapshot: Snapshot, all: readonly WasmPluginIR[]): void {
    this.lastSnapshot = snapshot;
    const live = new Set(all.map(fingerprint));
    for (const [k, h] of this.handles) {
      if (live.has(k)) continue;
      h.close();
      this.handles.delete(k);
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }
}

/** A waypoint is Istio's inbound (SERVER) listener class; ports are the service port. */
function matches(p: WasmPluginIR, _service: ServiceIR, port: number): boolean {
  if (p.match.length === 0) return true;
  return p.match.some((m) => m.mode !== 'CLIENT' && (m.ports.length === 0 || m.ports.includes(port)));
}

function fingerprint(p: WasmPluginIR): string {
  return JSON.stringify([p.kind ?? 'WasmPlugin', p.namespace, p.name, p.url, p.sha256 ?? '', p.imagePullPolicy, p.pluginName, p.pluginConfig, p.env, p.hostEnvKeys]);
}
