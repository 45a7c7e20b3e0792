#!/usr/bin/env node
// Soak (issue 11 §5): the local mesh (in-process: ztunnels, waypoint, echo apps, as
// test/helpers/local-mesh.ts wires them) under moderate steady load for a set time. Samples
// request counts and errors, RSS, heap, open file descriptors and event-loop lag, prints one JSON
// line per sample and a summary, and checks that growth levels off: the last third of the run
// may not sit more than --max-growth above the middle third (heap after a GC, RSS, fds).
// Build first. Usage: node --expose-gc scripts/soak.mjs [--seconds 120] [--interval 10] [--concurrency 4]
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    interval: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    'max-growth': { type: 'string', default: '0.2' },
  },
});
const seconds = Number(values.seconds);
const intervalMs = Number(values.interval) * 1000;
const maxGrowth = Number(values['max-growth']);
const dist = path.resolve(import.meta.dirname, '..', 'dist', 'test', 'helpers');
const { startLocalMesh } = await import(path.join(dist, 'local-mesh.js'));
const { SteadyLoad } = await import(path.join(dist, 'steady-load.js'));

const fds = () => readdirSync('/proc/self/fd').length;
const gc = globalThis.gc;
const mesh = await startLocalMesh();
const sleep = mesh.pod('default', 'sleep');
// Both kinds of traffic a waypoint carries: HTTP through it, and plain TCP (via ztunnel only).
let n = 0;
const send = async () => {
  const url = n++ % 4 === 3 ? 'http://ratings:9080/' : 'http://reviews:9080/soak';
  return (await mesh.request(sleep, url)).status;
};
const load = new SteadyLoad(send, Number(values.concurrency), 5).start();
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const samples = [];
const t0 = Date.now();
let lastOk = 0;
while (Date.now() - t0 < seconds * 1000) {
  await new Promise((r) => setTimeout(r, intervalMs));
  // The in-process mesh keeps every access record for tests to inspect: drop them, or the soak
  // would measure its own bookkeeping.
  mesh.ztunnelRecords.length = 0;
  mesh.waypointRecords.length = 0;
  gc?.();
  const m = process.memoryUsage();
  const s = {
    soak: 'sample',
    t: Math.round((Date.now() - t0) / 1000),
    ok: load.ok,
    failed: load.failed,
    rps: Math.round(((load.ok - lastOk) * 1000) / intervalMs),
    rssMB: +(m.rss / 2 ** 20).toFixed(1),
    heapMB: +(m.heapUsed / 2 ** 20).toFixed(1),
    fds: fds(),
    lagP99ms: +(lag.percentile(99) / 1e6).toFixed(1),
    lagMaxMs: +(lag.max / 1e6).toFixed(1),
  };
  lastOk = load.ok;
  lag.reset();
  samples.push(s);
  console.log(JSON.stringify(s));
}
const result = await load.stop();
await mesh.close();

const third = Math.max(1, Math.floor(samples.length / 3));
const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / Math.max(1, xs.length);
const mid = samples.slice(third, 2 * third);
const last = samples.slice(-third);
const growth = (k) => (mean(mid, k) > 0 ? mean(last, k) / mean(mid, k) - 1 : 0);
const checks = { heap: growth('heapMB'), rss: growth('rssMB'), fds: growth('fds') };
const level = samples.length < 3 || Object.values(checks).every((g) => g <= maxGrowth);
console.log(
  JSON.stringify({
    soak: 'summary',
    seconds,
    gcBetweenSamples: gc !== undefined,
    sent: result.sent,
    failed: result.failed,
    failures: result.failures,
    growthLastVsMiddleThird: Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, +v.toFixed(3)])),
    levelsOff: level,
  }),
);
process.exit(result.failed === 0 && level ? 0 : 1);
