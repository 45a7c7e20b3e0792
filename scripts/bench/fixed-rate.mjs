// Open-loop fixed-rate HTTP/1.1 load (what wrk2 does and wrk cannot): request i is due at
// t0 + i/rate whatever happened before, over a pool of keep-alive connections; latency counts
// from the due time, so a stall shows in the tail instead of silently lowering the rate
// (coordinated omission). Prints one JSON line: requests, errors, achieved rps, p50/p90/p99 ms.
// Usage: node fixed-rate.mjs '{"url":"http://h:p/","seconds":10,"rate":1000,"connections":16,"headers":{}}'
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { Pool } from 'undici';

const { url, seconds, rate, connections, headers } = JSON.parse(process.argv[2]);
const u = new URL(url);
const pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
const lat = [];
let errors = 0;
let inflight = 0;
const total = Math.round(seconds * rate);
const t0 = performance.now() + 200;
let sent = 0;

function fire(due) {
  inflight++;
  pool
    .request({ method: 'GET', path: u.pathname + u.search, headers: { host: u.host, ...headers } })
    .then(async (res) => {
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) lat.push(performance.now() - due);
      else errors++;
    })
    .catch(() => errors++)
    .finally(() => {
      inflight--;
      if (sent === total && inflight === 0) finish();
    });
}

function tick() {
  const now = performance.now();
  while (sent < total && t0 + (sent * 1000) / rate <= now) {
    fire(t0 + (sent * 1000) / rate);
    sent++;
  }
  if (sent < total) setTimeout(tick, 1);
}

async function finish() {
  const elapsed = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  process.stdout.write(JSON.stringify({ requests: lat.length, errors, rps: Math.round(lat.length / elapsed), p50: q(0.5), p90: q(0.9), p99: q(0.99) }) + '\n');
  await pool.close();
  process.exit(0);
}

setTimeout(tick, 200);
