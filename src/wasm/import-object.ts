/**
 * Builds the import object from the module's own import list, so linking never fails on a
 * function we do not implement: implemented `env.proxy_*` and WASI functions are used, any other
 * `env` function becomes a stub that logs once and returns UNIMPLEMENTED, any other WASI function
 * returns NOSYS. Non-function imports (memory, table, global) cannot be faked sensibly and fail the
 * link with a clear message.
 */
import { Status } from './abi.js';
import type { PluginVm } from './plugin-vm.js';
import { proxyImports } from './proxy-imports.js';
import { WASI_NOSYS, wasiImports } from './wasi-imports.js';

const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);

type Fn = (...args: never[]) => unknown;

export function buildImports(module: WebAssembly.Module, vm: PluginVm): WebAssembly.Imports {
  const env = proxyImports(vm);
  const wasi = wasiImports({
    memory: vm.memory,
    env: vm.opts.env,
    stdio: (fd, text) => vm.log(fd === 1 ? 2 : 4, text),
  });
  const out: Record<string, Record<string, Fn>> = {};
  const warned = new Set<string>();
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`import ${imp.module}.${imp.name} is a ${imp.kind}; only function imports can be provided`);
    const mod = (out[imp.module] ??= {});
    if (WASI_MODULES.has(imp.module)) {
      mod[imp.name] = (wasi[imp.name] as Fn | undefined) ?? WASI_NOSYS;
    } else if (imp.module === 'env') {
      const impl = env[imp.name] as Fn | undefined;
      mod[imp.name] =
        impl ??
        ((): number => {
          if (!warned.has(imp.name)) {
            warned.add(imp.name);
            vm.log(3, `host function ${imp.name} is not implemented here; returning UNIMPLEMENTED`);
          }
          return Status.UNIMPLEMENTED;
        });
    } else {
      mod[imp.name] = (): number => Status.UNIMPLEMENTED;
    }
  }
  return out;
}
