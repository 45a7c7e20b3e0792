// Re-renders test/bench/RESULTS.md from test/bench/results.json (after a change to report.mjs),
// without running anything: `node scripts/bench/regen-report.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { markdown } from './report.mjs';

const dir = path.resolve(import.meta.dirname, '../../test/bench');
writeFileSync(path.join(dir, 'RESULTS.md'), markdown(JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8'))));
