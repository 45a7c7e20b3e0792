/**
 * A plugin module compiled once and shared by every VM built from it (rebuilds after a trap, the
 * same module under several WasmPlugins). The ABI version is read from the exported marker, as
 * cpp-host does; a module without one is rejected before anything runs.
 */
import { createHash } from 'node:crypto';
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

/** Compiles (or reuses the compilation of) a module's bytes. */
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
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const marker = ABI_MARKERS.find(([n]) => names.has(n));
  if (!marker) return { ok: false, error: 'missing or unknown Proxy-Wasm ABI version (no proxy_abi_version_0_2_x export)' };
  if (marker[1] === '0.1.0') return { ok: false, error: 'Proxy-Wasm ABI 0.1.0 is not supported (rebuild the plugin with a 2022+ SDK: ABI 0.2.0 or 0.2.1)' };
  const plugin: CompiledPlugin = { module, abi: marker[1], sha256, exports: names };
  cache.set(sha256, plugin);
  return { ok: true, plugin };
}
