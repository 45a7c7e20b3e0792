#!/usr/bin/env node
// `npm run bench`: runs the real local mesh (`ambient up` on a relocated copy of the embedded
// default) and measures, in one run, small HTTP requests over keep-alive connections:
//   direct    load generator → echo app (the ceiling)
//   l4        → client ztunnel → HBONE → destination ztunnel → echo  (ratings: no waypoint)
//   waypoint  → client ztunnel → waypoint → destination ztunnel → echo  (reviews)
// Reports req/s, p50/p90/p99 and writes test/bench/out/results.json. Options (env):
//   BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 16).
// The load generator is Node (undici over SOCKS5 connections); issue 10 adds wrk/h2load and peers.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'undici';

const root = path.resolve(import.meta.dirname, '..');
const { socks5Connect } = await import(path.join(root, 'dist/src/net/socks5-client.js'));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const third = 200 + Math.floor(Math.random() * 50);

// Relocate the default mesh into its own block so a running `npm start` is not disturbed.
const cfg = mkdtempSync(path.join(os.tmpdir(), 'ambient-bench-'));
const src = path.join(root, 'deploy/local/default');
for (const f of readdirSync(src)) {
  const text = readFileSync(path.join(src, f), 'utf8').replace(/\b127\.(1|2|3|100)\.0\.(\d{1,3})\b/g, `127.$1.${third}.$2`);
  writeFileSync(path.join(cfg, f), text);
}
const state = path.join(cfg, '.state');
const pod = (n) => `127.1.${third}.${n}`;

const up = spawn(process.execPath, [path.join(root, 'dist/src/cli.js'), 'up', '--config', cfg, '--state', state, '--quiet', '--node-subnet', `127.3.${third}`], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  let out = '';
  const t = setTimeout(() => reject(new Error('mesh did not come up in 60 s')), 60_000);
  up.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ambient mesh is up')) {
      clearTimeout(t);
      resolve();
    }
  });
  up.on('exit', (code) => reject(new Error(`ambient up exited ${code}`)));
});
up.stdout.resume();

async function run(name, makeSocket) {
  const clients = [];
  for (let i = 0; i < connections; i++) {
    clients.push(
      new Client('http://bench', {
        connect: (_opts, cb) => makeSocket().then((s) => cb(null, s), (e) => cb(e, null)),
        pipelining: 1,
      }),
    );
  }
  const lat = [];
  let errors = 0;
  const until = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c) => {
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        try {
          const r = await c.request({ method: 'GET', path: '/', headers: { host: 'bench' } });
          await r.body.dump();
          if (r.statusCode !== 200) errors++;
          else lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(clients.map((c) => c.close()));
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  return { name, requests: lat.length, errors, rps: Math.round(lat.length / elapsed), p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99) };
}

const viaZtunnel = (host, port) => () => socks5Connect({ proxyHost: pod(2), proxyPort: 15080, localAddress: pod(2), host, port });
const results = [];
try {
  const net = await import('node:net');
  results.push(await run('direct', () => new Promise((res, rej) => { const s = net.connect(9080, pod(11), () => res(s)); s.once('error', rej); })));
  results.push(await run('l4 (ztunnel → ztunnel)', viaZtunnel('ratings', 9080)));
  results.push(await run('waypoint (ztunnel → waypoint → ztunnel)', viaZtunnel('reviews', 9080)));
} finally {
  up.kill('SIGINT');
  await new Promise((r) => up.on('exit', r));
  rmSync(cfg, { recursive: true, force: true });
}

const direct = results[0].rps || 1;
console.log(`\n${seconds}s per scenario, ${connections} keep-alive connections, Node ${process.version}, ${os.cpus().length} cores\n`);
console.log('| scenario | req/s | vs direct | p50 ms | p90 ms | p99 ms | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.rps} | ${(r.rps / direct).toFixed(2)} | ${r.p50_ms.toFixed(2)} | ${r.p90_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.errors} |`);
}
mkdirSync(path.join(root, 'test/bench/out'), { recursive: true });
writeFileSync(path.join(root, 'test/bench/out/results.json'), JSON.stringify({ date: new Date().toISOString(), seconds, connections, results }, null, 2));
