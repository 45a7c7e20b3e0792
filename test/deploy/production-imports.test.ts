/**
 * What the image ships imports only what the image installs: every module under dist/src and
 * dist/filters (the Dockerfile copies dist without dist/test and installs `npm ci --omit=dev`)
 * imports Node built-ins, files that ship, or packages listed in package.json `dependencies`
 * — never a devDependency (issue 17: loop containment imported `wabt`, so every Wasm plugin
 * failed in the image). Static and dynamic imports with a literal specifier and
 * `new URL('./x.js', import.meta.url)` worker entries are checked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/relocated-config.js';

const DIST = path.join(REPO_ROOT, 'dist');
const SHIPPED = ['src', 'filters', 'wasm'].map((d) => path.join(DIST, d));
const SPECIFIERS = [
  /^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/gm,
  /^\s*import\s*['"]([^'"]+)['"]/gm,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.js') ? [p] : [];
  });
}

const packageName = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));

/** Every import of a shipped file that the production image could not satisfy. */
function productionImportProblems(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const builtins = new Set(builtinModules);
  const problems: string[] = [];
  for (const file of [path.join(DIST, 'src'), path.join(DIST, 'filters')].flatMap(walk)) {
    const text = readFileSync(file, 'utf8');
    const rel = path.relative(DIST, file);
    for (const re of SPECIFIERS) {
      for (const m of text.matchAll(re)) {
        const spec = m[1] as string;
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        if (spec.startsWith('.')) {
          const target = path.resolve(path.dirname(file), spec);
          if (!SHIPPED.some((d) => target.startsWith(d + path.sep))) problems.push(`${rel}: ${spec} is outside what ships (dist/src, dist/filters, dist/wasm)`);
          else if (!existsSync(target)) problems.push(`${rel}: ${spec} does not exist`);
          continue;
        }
        const name = packageName(spec);
        if (deps.has(name)) continue;
        const kind = pkg.devDependencies?.[name] !== undefined ? 'a devDependency' : 'not in package.json dependencies';
        problems.push(`${rel}: imports ${spec}, ${kind}`);
      }
    }
  }
  return problems;
}

describe('production imports', () => {
  it('dist/src and dist/filters import only built-ins, shipped files and production dependencies', () => {
    assert.deepEqual(productionImportProblems(), []);
  });

  it('the check sees dynamic imports of devDependencies (it would have caught wabt)', () => {
    const text = "const w = await import('wabt');\nimport ts from 'typescript';\n";
    const found = SPECIFIERS.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]));
    assert.deepEqual(found.sort(), ['typescript', 'wabt']);
  });
});
