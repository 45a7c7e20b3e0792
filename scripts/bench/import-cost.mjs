#!/usr/bin/env node
// What one module costs a process when imported alone: V8 heap used, anonymous and file-backed
// RSS after two full GCs, before vs after the import ("Session 5: memory" in docs/performance.md).
//   node --expose-gc scripts/bench/import-cost.mjs SPECIFIER|none
// e.g. `@kubernetes/client-node`, `prom-client`, or `$PWD/dist/src/commands/ztunnel.js`.
// Built-ins through getBuiltinModule: an ESM import would build their facades (and, for some,
// load more built-ins) in the baseline, hiding what the module under test adds.
const { readFileSync } = process.getBuiltinModule('node:fs');
const v8 = process.getBuiltinModule('node:v8');

const spec = process.argv[2];
const gc = globalThis.gc;
if (!spec || typeof gc !== 'function') {
  process.stderr.write('usage: node --expose-gc scripts/bench/import-cost.mjs SPECIFIER|none\n');
  process.exit(2);
}
const MiB = 1048576;
function state() {
  gc();
  gc();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { heap: v8.getHeapStatistics().used_heap_size / MiB, anon: kb('RssAnon'), file: kb('RssFile') };
}
const a = state();
if (spec !== 'none') await import(spec);
await new Promise((r) => setTimeout(r, 200));
const b = state();
const d = (k) => (b[k] - a[k]).toFixed(1);
process.stdout.write(`${JSON.stringify({ module: spec, heapUsedMiB: `+${d('heap')}`, anonMiB: `+${d('anon')}`, fileMiB: `+${d('file')}`, totalAnonMiB: Number(b.anon.toFixed(1)) })}\n`);
