#!/usr/bin/env node
// `npm run profile [-- --seconds N] [-- --features [--wasm] | --h2] [-- --rate R] [-- --top N] [-- --cli PATH]`: runs the bench mesh (client
// ztunnel → waypoint → destination ztunnel → nginx), starts the waypoint under `node --cpu-prof`,
// drives it with wrk through the client ztunnel's fixed-destination listener, stops it cleanly
// (the profile is written at exit) and prints the top frames by self time, then self time by
// file, so a hot-path change can show its effect. The .cpuprofile is kept (path printed) for
// Chrome DevTools / speedscope.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { hasTaskset, runFixedRate, runH2load, runWrk } from './bench/load.mjs';
import { ISSUER, wasmPlugin, writeBenchConfig } from './bench/mesh-config.mjs';
import { measure } from './bench/proc-stats.mjs';
import { startNginx, startProcess, startRole, stopAll, tcpOpen, waitFor } from './bench/processes.mjs';

const root = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
// --cli PATH: profile another build (its dist/src/cli.js), for before/after tables.
const cli = path.resolve(opt('--cli', path.join(root, 'dist/src/cli.js')));
const seconds = Number(opt('--seconds', '10'));
const top = Number(opt('--top', '30'));
const features = argv.includes('--features');
// HTTP/2 prior knowledge through the waypoint to the echo app (the bench's "h2 waypoint" row).
const h2 = argv.includes('--h2');
if (h2 && features) throw new Error('--h2 and --features are separate profiles');
// --rate R: HTTP/1.1 at a fixed R req/s (the bench's fixed-rate rows) instead of saturation, to see
// what a request costs when it has an event-loop turn to itself.
const rate = Number(opt('--rate', '0'));
if (rate && h2) throw new Error('--rate profiles HTTP/1.1 only');

spawnSync('bash', [path.join(root, 'scripts/install-bench-tools.sh')], { stdio: 'inherit' });
const pin = (os.availableParallelism?.() ?? os.cpus().length) >= 2 && hasTaskset();
const LOAD = pin ? '0' : undefined;
const MESH = pin ? '1' : undefined;

const third = 200 + Math.floor(Math.random() * 50);
const work = mkdtempSync(path.join(os.tmpdir(), 'ambient-profile-'));
const cfg = path.join(work, 'config');
mkdirSync(cfg);
const profDir = path.join(os.tmpdir(), `waypoint-profile-${Date.now()}`);
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(ISSUER).setSubject('bench').setExpirationTime('1d').sign(privateKey);
// --wasm: the bench row's header-edit plugin on the features backend.
const a = writeBenchConfig(cfg, third, jwk, argv.includes('--wasm') ? wasmPlugin(root) : {});
const common = ['--config', cfg, '--state', path.join(work, 'state'), '--quiet'];
const service = features ? 'backend-full' : h2 ? 'echo' : 'backend';
const gateway = features ? 'waypoint-full' : 'waypoint';
let rps = 0;
let requests = 0;
let usPerRequest;
// Wall-clock marks, to cut the profile down to the measured run (start-up and drain excluded).
let t1 = 0;
let t2 = 0;
let t3 = 0;
try {
  if (h2) {
    const echo = startProcess('echo', MESH, process.execPath, [cli, 'app', '--pod', 'default/echo', ...common]);
    await waitFor('echo app', () => tcpOpen(a.echo, 9080), echo);
  } else if (!(await startNginx(work, a.backend, 9080, MESH))) throw new Error('nginx is needed (scripts/install-bench-tools.sh)');
  await startRole(cli, 'ztunnel-a', MESH, ['ztunnel', '--node', 'node-a', '--admin-address', a.nodeA, ...common, '--outbound-fixed', `${a.client}:18082=default/client->${service}:9080`], a.nodeA);
  await startRole(cli, 'ztunnel-b', MESH, ['ztunnel', '--node', 'node-b', '--admin-address', a.nodeB, ...common], a.nodeB);
  const wp = await startRole(cli, gateway, MESH, ['waypoint', '--gateway', `default/${gateway}`, ...common], features ? a.waypointFull : a.waypoint, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  const url = `http://${a.client}:18082/`;
  const headers = features ? { authorization: `Bearer ${token}` } : {};
  const load = (s) =>
    h2
      ? runH2load({ url, seconds: s, clients: 4, streams: 10, cpus: LOAD })
      : rate
        ? runFixedRate({ url, seconds: s, rate, connections: 20, headers, cpus: LOAD })
        : runWrk({ url, seconds: s, connections: 50, headers, cpus: LOAD });
  await load(2);
  t1 = Date.now();
  const m = await measure({ waypoint: wp.pid }, () => load(seconds));
  t2 = Date.now();
  if (!m.result.ok) throw new Error(m.result.message);
  rps = m.result.rps;
  requests = m.result.requests;
  usPerRequest = Math.round((m.procs.waypoint.cpuSeconds * 1e6) / m.result.requests);
  await wp.stop();
  t3 = Date.now();
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}

const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
if (files.length === 0) throw new Error(`no profile written in ${profDir}`);
const file = path.join(profDir, files[0]);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const from = prof.endTime - (t3 - t1) * 1000;
const to = prof.endTime - (t3 - t2) * 1000;
let t = prof.startTime;
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i] ?? 0;
  t += dt;
  if (t < from || t > to) continue;
  self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
}
const idleIds = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const total = [...self].filter(([id]) => !idleIds.has(id)).reduce((x, [, y]) => x + y, 0);
const buildRoot = path.resolve(path.dirname(cli), '../..');
const shortUrl = (u) => (u ? u.replace(`file://${buildRoot}/`, '').replace(/^node:/, 'node:') : '');
const frames = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  if (idleIds.has(id)) continue;
  const n = byId.get(id);
  const cf = n.callFrame;
  const where = shortUrl(cf.url);
  const name = (cf.functionName || '(anonymous)').slice(0, 80);
  const key = `${name}  ${where}${where ? `:${cf.lineNumber + 1}` : ''}`;
  frames.set(key, (frames.get(key) ?? 0) + us);
  const fileKey = where || `(${name})`;
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
}
// Percent of busy (non-idle) time in the measured window, and µs per request.
const pct = (us) => ((us * 100) / total).toFixed(1).padStart(5);
const perReq = (us) => (requests ? (us / requests).toFixed(2) : '–').padStart(6);
console.log(`waypoint${features ? ' with features' : h2 ? ', HTTP/2 (h2load)' : ''}${rate ? ` at ${rate} req/s` : ''}: ${rps} req/s, ${usPerRequest} µs CPU per request (from /proc), profile ${file}`);
console.log(`busy samples in the measured window: ${(total / 1e6).toFixed(2)} s = ${perReq(total).trim()} µs per request (main thread only)\n`);
console.log(`top ${top} frames by self time (% of busy, µs/request):`);
for (const [k, us] of [...frames].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}% ${perReq(us)}  ${k}`);
// Areas: where a gap would have to be closed.
const AREAS = [
  ['node:http server (parse requests, write responses)', /^node:_http_(server|common|incoming|outgoing)$/],
  ['undici (upstream HTTP/1.1 client, incl. its llhttp wasm)', /^node_modules\/undici\/|^wasm:\/\//],
  ['HTTP/2 framing + TLS + socket writes (JS side)', /^node:internal\/(http2|stream_base_commons|tls)|^\((writev|writeLatin1String|writeUtf8String|writeBuffer)\)$/],
  ['native, not attributed to JS ((program): nghttp2, OpenSSL, libuv, C++ glue)', /^\(\(program\)\)$/],
  ['streams, events, ticks, timers', /^node:(events|internal\/(streams|process|timers|async_hooks))/],
  ['garbage collection', /^\(\(garbage collector\)\)$/],
  ['JWT (jose, node:crypto)', /^node_modules\/jose\/|^node:internal\/crypto|^dist\/filters\/jwt-authn/],
  ['upstream HTTP/1.1 client (dist/src/upstream/h1)', /^dist\/src\/upstream\/h1\//],
  ['waypoint code (dist/src/waypoint, upstream)', /^dist\/src\/(waypoint|upstream)\//],
  ['Wasm host (dist/src/wasm)', /^dist\/src\/wasm\//],
  ['filters, routing, telemetry, hbone (dist/src/filter|routing|telemetry|hbone, dist/filters)', /^dist\/(src\/(filter|routing|telemetry|hbone|security)|filters)\//],
];
const areas = new Map();
for (const [k, us] of byFile) {
  const area = AREAS.find(([, re]) => re.test(k))?.[0] ?? 'other (buffers, regexes, crypto random, ...)';
  areas.set(area, (areas.get(area) ?? 0) + us);
}
console.log(`\nself time by area:`);
for (const [k, us] of [...areas].sort((x, y) => y[1] - x[1])) console.log(`${pct(us)}% ${perReq(us)}  ${k}`);
console.log(`\nself time by file:`);
for (const [k, us] of [...byFile].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}% ${perReq(us)}  ${k}`);
