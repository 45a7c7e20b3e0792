/**
 * A plugin module compiled once and shared by every VM built from it (rebuilds after a trap, the
 * same module under several WasmPlugins). The ABI version is read from the exported marker, as
 * cpp-host does; a module without one is rejected before anything runs.
 */
const { createHash } = process.getBuiltinModule('node:crypto');
import { ABI_MARKERS } from './abi.js';
import type { AbiVersion } from './abi.js';

export interface CompiledPlugin {
  readonly module: WebAssembly.Module;
  readonly abi: AbiVersion;
  readonly sha256: string;
  /** Names of the exported functions (so callers know which callbacks exist without an instance). */
  readonly exports: ReadonlySet<string>;
}

export type CompileResult = { readonly ok: true; readonly plugin: CompiledPlugin } | { readonly ok: false; readonly error: string };

const cache = new Map<string, CompiledPlugin>();

/**
 * Compiles (or reuses the compilation of) a module's bytes on the calling thread. The proxy
 * compiles off the event loop ({@link prepareModule}); this synchronous form is for tests and
 * benchmarks driving the host directly.
 */
export function compilePlugin(bytes: Uint8Array): CompileResult {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const hit = cache.get(sha256);
  if (hit) return { ok: true, plugin: hit };
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (err) {
    return { ok: false, error: `not a valid WebAssembly module: ${err instanceof Error ? err.message : String(err)}` };
  }
  return pluginFromModule(module, sha256);
}

/**
 * A compiled module as a plugin: its ABI read from the exported marker (rejected without one),
 * `sha256` is the digest of the bytes as fetched (before any instrumentation); `cacheKey` tells
 * an instrumented compilation from a plain one of the same bytes.
 */
export function pluginFromModule(module: WebAssembly.Module, sha256: string, cacheKey: string = sha256): CompileResult {
  const hit = cache.get(cacheKey);
  if (hit) return { ok: true, plugin: hit };
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const marker = ABI_MARKERS.find(([n]) => names.has(n));
  if (!marker) return { ok: false, error: 'missing or unknown Proxy-Wasm ABI version (no proxy_abi_version_0_2_x export)' };
  if (marker[1] === '0.1.0') return { ok: false, error: 'Proxy-Wasm ABI 0.1.0 is not supported (rebuild the plugin with a 2022+ SDK: ABI 0.2.0 or 0.2.1)' };
  const plugin: CompiledPlugin = { module, abi: marker[1], sha256, exports: names };
  cache.set(cacheKey, plugin);
  return { ok: true, plugin };
}

/** The compiled plugin cached under a key, if this process has one. */
export function cachedPlugin(cacheKey: string): CompiledPlugin | undefined {
  return cache.get(cacheKey);
}
