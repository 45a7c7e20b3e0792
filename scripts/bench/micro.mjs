// Runs every compiled micro-benchmark (dist/test/bench/*.bench.js) and collects its JSON lines
// (`{"bench","metric","unit","value"}`, the contract in the team preamble).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pinned, run } from './load.mjs';

export async function runMicroBenchmarks(root, cpus) {
  const dir = path.join(root, 'dist/test/bench');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort() : [];
  const lines = [];
  const failed = [];
  for (const f of files) {
    const [cmd, args] = pinned(cpus, process.execPath, [path.join(dir, f)]);
    const r = await run(cmd, args, 300_000);
    let n = 0;
    for (const line of r.stdout.split('\n')) {
      try {
        const o = JSON.parse(line);
        if (o && typeof o.bench === 'string' && typeof o.metric === 'string') {
          lines.push(o);
          n++;
        }
      } catch {
        // not a result line
      }
    }
    if (r.code !== 0 || n === 0) failed.push({ scenario: `micro-benchmark ${f}`, reason: `exit ${r.code}, ${n} result lines: ${r.stderr.trim().slice(0, 200)}` });
  }
  return { lines, failed, files };
}
