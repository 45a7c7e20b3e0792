/**
 * Makes a fetched module ready to run without blocking the event loop: loop instrumentation and
 * compilation happen in a worker thread (`module-prep-worker.ts`), the compiled module comes
 * back by message. The proxy's thread only hashes the bytes (for the cache) and reads the export
 * names of the result.
 *
 * Bounds, so one plugin can never take the proxy with it: modules larger than `maxBytes` are
 * refused before any work; the worker's JS heap is capped (`resourceLimits`) and the worker is
 * terminated when it has not answered within `timeoutMs`. Each of these fails the load like a
 * bad module (the plugin's fail strategy applies and the handle retries later with backoff).
 * At most {@link MAX_PARALLEL} workers run at once; the same bytes loaded by several plugins
 * share one preparation.
 */
const { createHash } = process.getBuiltinModule('node:crypto');
const { Worker } = process.getBuiltinModule('node:worker_threads');
import type { CompiledPlugin } from './compiled-plugin.js';
import { cachedPlugin, pluginFromModule } from './compiled-plugin.js';
import type { PrepRequest, PrepResponse } from './module-prep-protocol.js';

export interface PrepareOptions {
  /** Instrument loops (default true). */
  readonly loopFuel?: boolean;
  /** Give up on a module not ready after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** Refuse modules larger than this (default 64 MiB). */
  readonly maxBytes?: number;
  /** The worker's JS heap cap in MiB (default 512). */
  readonly maxHeapMb?: number;
}

/** A ready plugin (with a warning when it runs without loop containment), or why not. */
export type PrepareResult = { readonly ok: true; readonly plugin: CompiledPlugin; readonly warning?: string } | { readonly ok: false; readonly error: string };

export const DEFAULT_PREP_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_MODULE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_HEAP_MB = 512;
const MAX_PARALLEL = 2;

const WORKER_URL = new URL('./module-prep-worker.js', import.meta.url);
const inFlight = new Map<string, Promise<PrepareResult>>();
let running = 0;
const waiting: (() => void)[] = [];

/** Instruments and compiles a module off the event loop (see the file comment). */
export function prepareModule(bytes: Uint8Array, opts: PrepareOptions = {}): Promise<PrepareResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  if (bytes.length > maxBytes) return Promise.resolve({ ok: false, error: `module is ${bytes.length} bytes, more than the ${maxBytes} allowed` });
  const loopFuel = opts.loopFuel ?? true;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = loopFuel ? `${sha256}+fuel` : sha256;
  const hit = cachedPlugin(key);
  if (hit) return Promise.resolve({ ok: true, plugin: hit });
  let p = inFlight.get(key);
  if (!p) {
    p = withSlot(() => runWorker({ bytes, loopFuel }, opts)).then((r): PrepareResult => {
      if (!r.ok) return r;
      const compiled = pluginFromModule(r.module, sha256, key);
      if (!compiled.ok || r.warning === undefined) return compiled;
      return { ok: true, plugin: compiled.plugin, warning: r.warning };
    });
    const settle = (): void => void inFlight.delete(key);
    p.then(settle, settle);
    inFlight.set(key, p);
  }
  return p;
}

async function withSlot<T>(job: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await job();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runWorker(req: PrepRequest, opts: PrepareOptions): Promise<PrepResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PREP_TIMEOUT_MS;
  return new Promise<PrepResponse>((resolve) => {
    let done = false;
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? DEFAULT_MAX_HEAP_MB } });
    const finish = (r: PrepResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
      void worker.terminate();
    };
    const timer = setTimeout(() => finish({ ok: false, error: `module not ready within ${timeoutMs} ms (instrumenting and compiling); treated as a bad module` }), timeoutMs);
    worker.once('message', (r: PrepResponse) => finish(r));
    worker.once('error', (err: Error) => finish({ ok: false, error: `module preparation failed: ${err.message}` }));
    worker.once('exit', (code) => finish({ ok: false, error: `module preparation stopped (worker exit code ${code})` }));
    worker.postMessage(req);
  });
}
