#!/usr/bin/env node
// Builds the guest side into dist/wasm/: the AssemblyScript sample plugins (wasm/plugins/*.ts,
// compiled by asc in this one process) and the SDK compatibility modules (wasm/compat/*.wat,
// assembled by wabt). Deterministic (fixed flags, no timestamps in the output) and incremental: an
// output newer than every source it depends on is kept, so `npm run build` stays fast.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'dist', 'wasm');
const mtime = (p) => statSync(p).mtimeMs;
const newest = (files) => Math.max(...files.map(mtime), mtime(import.meta.filename));
const fresh = (target, sources) => {
  try {
    return mtime(target) >= newest(sources);
  } catch {
    return false;
  }
};

const sdkDir = path.join(root, 'wasm', 'sdk');
const pluginDir = path.join(root, 'wasm', 'plugins');
const sdkSources = readdirSync(sdkDir).map((f) => path.join(sdkDir, f));
const shared = [...sdkSources, path.join(pluginDir, 'json-config.ts')];
const plugins = readdirSync(pluginDir).filter((f) => f.endsWith('.ts') && f !== 'json-config.ts');

mkdirSync(path.join(out, 'plugins'), { recursive: true });
mkdirSync(path.join(out, 'compat'), { recursive: true });

let built = 0;
let asc;
for (const p of plugins) {
  const src = path.join(pluginDir, p);
  const target = path.join(out, 'plugins', p.replace(/\.ts$/, '.wasm'));
  if (fresh(target, [src, ...shared])) continue;
  asc ??= (await import('assemblyscript/asc')).default;
  const { error, stderr } = await asc.main(
    [path.relative(root, src), '-o', path.relative(root, target), '-O3', '--runtime', 'incremental', '--noAssert'],
    { stdout: process.stdout, stderr: process.stderr },
  );
  if (error) {
    console.error(`build-wasm: ${p}: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
  built++;
}

const compatDir = path.join(root, 'wasm', 'compat');
let wabt;
for (const f of readdirSync(compatDir).filter((x) => x.endsWith('.wat'))) {
  const src = path.join(compatDir, f);
  const target = path.join(out, 'compat', f.replace(/\.wat$/, '.wasm'));
  if (fresh(target, [src])) continue;
  wabt ??= await (await import('wabt')).default();
  const mod = wabt.parseWat(f, readFileSync(src, 'utf8'), {});
  try {
    mod.validate();
    writeFileSync(target, Buffer.from(mod.toBinary({ write_debug_names: false }).buffer));
  } finally {
    mod.destroy();
  }
  built++;
}
console.log(`build-wasm: ${built} module(s) built, the rest up to date (dist/wasm/)`);
