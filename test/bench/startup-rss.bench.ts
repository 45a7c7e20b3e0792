/**
 * Start-up memory of each role's code: a fresh Node process imports the role's command module
 * (everything it loads at start-up, before config) and reports its RSS after a full GC, next to a
 * bare Node process. Guards the lazy imports of docs/performance.md "Session 3": a heavy module
 * imported at the top of a shared file shows here as tens of MB. (RSS of running roles at rest is
 * in the bench's "RSS at rest" table.)
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { report } from './micro-runner.js';

const commands = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/commands');

function rssAfterImport(module: string | undefined): number {
  const load = module ? `await import(${JSON.stringify(pathToFileURL(path.join(commands, module)).href)});` : '';
  const script = `${load} globalThis.gc(); process.stdout.write(String(process.memoryUsage().rss));`;
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out) / 1048576;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

for (const [metric, module] of [
  ['bare node process, RSS (MiB)', undefined],
  ['ztunnel command imported, RSS (MiB)', 'ztunnel.js'],
  ['waypoint command imported, RSS (MiB)', 'waypoint.js'],
  ['up command imported, RSS (MiB)', 'up.js'],
] as const) {
  report({ bench: 'startup-rss', metric, unit: 'MB', value: median([0, 1, 2].map(() => rssAfterImport(module))) });
}
