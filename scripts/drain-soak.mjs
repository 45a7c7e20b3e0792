#!/usr/bin/env node
// Long form of test/e2e/hardening-drain-processes.test.ts (issue 11 §1): two `ambient waypoint
// --address` processes behind the local mesh under steady load; 3 rounds of one-at-a-time
// restarts, 100 config reloads in a row, 10 rotations of the client and destination
// certificates. Prints the test's figures line (requests sent and failed per scenario) and exits
// with the test's status. Build first (`npm run build`). Usage: node scripts/drain-soak.mjs
import { spawn } from 'node:child_process';
import path from 'node:path';

const file = path.resolve(import.meta.dirname, '..', 'dist', 'test', 'e2e', 'hardening-drain-processes.test.js');
const child = spawn(process.execPath, ['--test', '--test-timeout=1800000', file], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, HARDENING_LONG: '1' },
});
let out = '';
child.stdout.on('data', (d) => {
  out += d.toString();
  process.stdout.write(d);
});
child.on('exit', (code, signal) => {
  const line = /hardening-drain-processes figures (\{.*\})/.exec(out);
  if (line) console.log(JSON.stringify({ drainSoak: 'summary', ...JSON.parse(line[1]) }));
  process.exit(code ?? (signal ? 1 : 0));
});
