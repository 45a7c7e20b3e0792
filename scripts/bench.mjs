#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --rounds N] [-- --no-micro] [-- --micro-only]`: the performance
// harness (issues 10 and 18). In one run, with the load generator pinned to one core and
// everything it measures to the other (taskset):
//   direct                    wrk → nginx (the ceiling)
//   HAProxy (plain L7 proxy)  wrk → HAProxy → nginx (the peer)
//   Node floor (bare relay)   wrk → node:net sockets joined by pipe() → nginx (what Node itself costs)
//   L4 (ztunnel → ztunnel)    wrk → client ztunnel → HBONE → destination ztunnel → nginx
//   waypoint                  wrk → client ztunnel → waypoint → destination ztunnel → nginx
//   waypoint + features       the same through a waypoint with 50 HTTPRoute rules, an
//                             AuthorizationPolicy, a JWT rule (and a header Wasm plugin if built)
//   HTTP/2 and gRPC           h2load → (direct | the waypoint path) → echo app
//   bulk                      one 1 GiB download and one 1 GiB upload: direct, the bare Node
//                             relay, L4 and the waypoint path
//   multi-core                waypoint --concurrency 1 vs 2 (client ztunnel --concurrency 2)
// each at saturation and at a fixed rate, with CPU per request and peak RSS per process; then
// every micro-benchmark in dist/test/bench. Writes test/bench/results.json and RESULTS.md.
// The machine is shared, so the rows run in rounds (3 by default): every round measures every
// row once, in an order rotated each round, and the report gives each row's median over the
// rounds with its spread; ratios (a row over HAProxy or direct) are taken within a round.
// The load generator reaches the client ztunnel through its fixed-destination outbound
// listeners (`ambient ztunnel --outbound-fixed`), as a captured app connection would.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, ftruncateSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ISSUER, wasmPlugin, writeBenchConfig } from './bench/mesh-config.mjs';
import { NODE_FLOOR_ROW } from './bench/targets.mjs';
import { hasTaskset, runCurlBulk, runFixedRate, runH2load, runWrk } from './bench/load.mjs';
import { runMicroBenchmarks } from './bench/micro.mjs';
import { measure } from './bench/proc-stats.mjs';
import { httpGetText, startHaproxy, startNginx, startProcess, startRole, stopAll, tcpOpen, waitFor } from './bench/processes.mjs';
import { markdown, perRequest } from './bench/report.mjs';
import { medianObject, orderForRound, spread } from './bench/rounds.mjs';
import { watchMachineLoad } from './bench/machine-load.mjs';
import { rssOfTree } from './bench/proc-stats.mjs';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist/src/cli.js');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const roundsArg = argv.indexOf('--rounds');
const rounds = Math.max(1, roundsArg >= 0 ? Number(argv[roundsArg + 1]) || 3 : 3);
// Three rounds of every row fit the old single run's ~10 min: shorter runs, repeated.
const seconds = quick ? 3 : 8;
const fixedSeconds = quick ? 3 : 6;
// Long enough for V8 to finish optimising a row's hot code before it is measured: the features
// row spent 1–6 µs/request in V8's compiler threads in the seconds after a 2 s warm-up (session 7).
const warmSeconds = quick ? 1 : 5;
const rate = 1000;
const connections = 50;
const fixedConnections = 20;
const bulkMiB = quick ? 128 : 1024;
const h2Clients = 4;
const h2Streams = 10;

// `--micro-only`: re-run the micro-benchmarks into the existing results (the mesh rows stay).
if (argv.includes('--micro-only')) {
  const { readFileSync } = await import('node:fs');
  const file = path.join(root, 'test/bench/results.json');
  const previous = JSON.parse(readFileSync(file, 'utf8'));
  const micro = await runMicroBenchmarks(root, os.availableParallelism?.() >= 2 ? '0' : undefined);
  previous.micro = micro.lines;
  previous.microDate = new Date().toISOString();
  previous.skipped = [...(previous.skipped ?? []).filter((x) => !x.scenario.startsWith('micro-benchmark')), ...micro.failed];
  writeFileSync(file, JSON.stringify(previous, null, 2) + '\n');
  writeFileSync(path.join(root, 'test/bench/RESULTS.md'), markdown(previous));
  process.stdout.write(markdown(previous));
  process.exit(0);
}

spawnSync('bash', [path.join(root, 'scripts/install-bench-tools.sh')], { stdio: 'inherit' });
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' }).status === 0;

const cores = os.availableParallelism?.() ?? os.cpus().length;
const pin = cores >= 2 && hasTaskset();
const LOAD = pin ? '0' : undefined;
const MESH = pin ? '1' : undefined;
const BOTH = pin ? '0,1' : undefined;
const log = (line) => process.stderr.write(`bench: ${line}\n`);

const third = 200 + Math.floor(Math.random() * 50);
const work = mkdtempSync(path.join(os.tmpdir(), 'ambient-bench-'));
const cfg = path.join(work, 'config');
const state = path.join(work, 'state');
mkdirSync(cfg);
const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(ISSUER).setSubject('bench').setExpirationTime('1d').sign(privateKey);
const wasm = wasmPlugin(root);
let a = writeBenchConfig(cfg, third, jwk, wasm);
if (wasm.yaml) {
  // The plugin's YAML follows Istio's WasmPlugin; if this build's translator disagrees, say so
  // and run the features row without it rather than claim a plugin that is not loaded.
  const v = spawnSync(process.execPath, [cli, 'validate', cfg], { encoding: 'utf8' });
  const text = `${v.stdout}${v.stderr}`;
  if (v.status !== 0 && /WasmPlugin|bench-headers/.test(text)) {
    wasm.skipped = `the bench's WasmPlugin was rejected: ${text.trim().split('\n').find((l) => /WasmPlugin|bench-headers/.test(l))}`;
    delete wasm.yaml;
    a = writeBenchConfig(cfg, third, jwk, wasm);
  }
}
const common = ['--config', cfg, '--state', state, '--quiet'];
const FIXED = { l4: 18081, waypoint: 18082, full: 18083, echo: 18084, sink: 18085, sinkL4: 18086 };
const fixedArgs = [
  `${a.client}:${FIXED.l4}=default/client->backend-l4:9080`,
  `${a.client}:${FIXED.waypoint}=default/client->backend:9080`,
  `${a.client}:${FIXED.full}=default/client->backend-full:9080`,
  `${a.client}:${FIXED.echo}=default/client->echo:9080`,
  `${a.client}:${FIXED.sink}=default/client->sink:9080`,
  `${a.client}:${FIXED.sinkL4}=default/client->sink-l4:9080`,
].flatMap((s) => ['--outbound-fixed', s]);
const HAPROXY = { host: a.nodeA.replace(/\.1$/, '.9'), port: 18090 };
/** The bare Node relay (scripts/bench/node-floor-relay.mjs): what Node itself costs per request at L4. */
const NODE_FLOOR = { host: HAPROXY.host, port: 18091, sinkPort: 18092 };

const results = {
  date: new Date().toISOString(),
  quick,
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores, memGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version },
  pinning: pin ? 'load generators on CPU 0, every measured process on CPU 1 (taskset); the multi-core rows give everything CPUs 0-1' : 'none (taskset missing or one core)',
  rounds,
  seconds,
  fixedSeconds,
  rate,
  connections,
  fixedConnections,
  h2Clients,
  h2Streams,
  bulkMiB,
  small: [],
  h2: [],
  bulk: [],
  scaling: [],
  skipped: [],
  micro: [],
  roundLoad: [],
};
const skip = (scenario, reason) => {
  log(`skipped ${scenario}: ${reason}`);
  results.skipped.push({ scenario, reason });
};

const roles = {};
const machineLoad = watchMachineLoad();
results.loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
log(`machine load at start (1/5/15-min load average): ${results.loadAtStart.join(', ')} on ${cores} cores; ${rounds} round(s)`);
async function startMesh({ clientConcurrency = 1, waypointConcurrency = 1, cpus = MESH } = {}) {
  roles['ztunnel-a'] = await startRole(cli, 'ztunnel-a', cpus, ['ztunnel', '--node', 'node-a', '--admin-address', a.nodeA, ...common, ...fixedArgs, '--concurrency', String(clientConcurrency)], a.nodeA);
  roles['ztunnel-b'] ??= await startRole(cli, 'ztunnel-b', cpus, ['ztunnel', '--node', 'node-b', '--admin-address', a.nodeB, ...common], a.nodeB);
  roles.waypoint = await startRole(cli, 'waypoint', cpus, ['waypoint', '--gateway', 'default/waypoint', ...common, '--concurrency', String(waypointConcurrency)], a.waypoint);
}

const pids = (...names) => Object.fromEntries(names.filter((n) => roles[n]).map((n) => [n, roles[n].pid]));

/** A load row: how to warm it up and measure it at saturation and at the fixed rate. */
function loadRow(list, scenario, url, procNames, { headers = {}, h2 } = {}) {
  const sat = h2
    ? (o) => runH2load({ ...o, clients: h2Clients, streams: h2Streams, dataFile: h2.dataFile, headers: { ...headers, ...h2.headers } })
    : (o) => runWrk({ ...o, connections, headers });
  const fixedRun = h2
    ? () => runH2load({ url, seconds: fixedSeconds, clients: h2Clients, streams: 1, rps: Math.round(rate / h2Clients), dataFile: h2.dataFile, headers: { ...headers, ...h2.headers }, cpus: LOAD })
    : () => runFixedRate({ url, seconds: fixedSeconds, rate, connections: fixedConnections, headers, cpus: LOAD });
  return { list, scenario, url, procNames, sat, fixedRun, rounds: [], failed: undefined };
}

async function warmUp(row) {
  log(`${row.scenario}: ${row.url} (warm-up)`);
  let warm = await row.sat({ url: row.url, seconds: warmSeconds, cpus: LOAD });
  // On a busy machine the features row has twice answered nothing within a 1 s warm-up (cause
  // not pinned down; a 2 s warm-up served it): give a silent warm-up one longer try.
  if (!warm.ok) warm = await row.sat({ url: row.url, seconds: warmSeconds * 3, cpus: LOAD });
  if (!warm.ok) row.failed = warm.message;
}

/** One round of one row: saturation (measured), then the fixed rate (measured). */
async function measureRow(row, round) {
  if (row.failed) return;
  const procs = pids(...row.procNames);
  const s = await measure(procs, () => row.sat({ url: row.url, seconds, cpus: LOAD }));
  if (!s.result.ok) {
    log(`${row.scenario} round ${round + 1}: ${s.result.message}`);
    return;
  }
  const fx = await measure(procs, row.fixedRun);
  const r = { round: round + 1, saturation: s.result, saturationProcs: perRequest(s.procs, s.result.requests) };
  if (fx.result.ok) Object.assign(r, { fixed: fx.result, fixedProcs: perRequest(fx.procs, fx.result.requests) });
  else log(`${row.scenario} round ${round + 1} (fixed rate): ${fx.result.message}`);
  row.rounds.push(r);
  log(`${row.scenario} round ${round + 1}: ${s.result.rps} req/s, p50 ${s.result.p50?.toFixed(2)} ms; fixed p50 ${fx.result.p50?.toFixed?.(2)} ms`);
}

/** A row's report entry: the medians over its rounds, their spread, and every round's figures. */
function finishRow(row) {
  if (row.rounds.length === 0) return skip(row.scenario, row.failed ?? 'no round succeeded');
  const procSpread = (key) => Object.fromEntries(Object.keys(row.rounds[0][key] ?? {}).map((n) => [n, spread(row.rounds.map((r) => r[key]?.[n]?.usPerRequest))]));
  const fixedRounds = row.rounds.filter((r) => r.fixed);
  const entry = {
    scenario: row.scenario,
    url: row.url,
    rate,
    saturation: medianObject(row.rounds.map((r) => r.saturation)),
    saturationProcs: medianObject(row.rounds.map((r) => r.saturationProcs)),
    spread: { rps: spread(row.rounds.map((r) => r.saturation.rps)), usPerRequest: procSpread('saturationProcs') },
    // Indexed by round, so per-round ratios pair the same round (a failed round leaves a hole).
    rounds: Array.from({ length: rounds }, (_, i) => row.rounds.find((r) => r.round === i + 1)),
  };
  if (fixedRounds.length) {
    Object.assign(entry, { fixed: medianObject(fixedRounds.map((r) => r.fixed)), fixedProcs: medianObject(fixedRounds.map((r) => r.fixedProcs)) });
    entry.spread.fixedP50 = spread(fixedRounds.map((r) => r.fixed.p50));
    entry.spread.fixedP99 = spread(fixedRounds.map((r) => r.fixed.p99));
  } else skip(`${row.scenario} (fixed rate)`, 'no round succeeded');
  row.list.push(entry);
}

try {
  // Backends and peers.
  const nginx = has('nginx') ? await startNginx(work, a.backend, 9080, MESH) : undefined;
  if (nginx) roles.nginx = nginx;
  roles.echo = startProcess('echo', MESH, process.execPath, [cli, 'app', '--pod', 'default/echo', ...common]);
  await waitFor('echo app', () => tcpOpen(a.echo, 9080), roles.echo);
  roles.sink = startProcess('sink', MESH, process.execPath, [path.join(root, 'scripts/bench/sink-server.mjs'), a.sink, '9080']);
  await waitFor('sink', () => tcpOpen(a.sink, 9080), roles.sink);
  if (nginx && has('haproxy')) roles.haproxy = await startHaproxy(work, HAPROXY.host, HAPROXY.port, `${a.backend}:9080`, MESH);
  if (nginx) {
    roles['node-relay'] = startProcess('node-relay', MESH, process.execPath, [path.join(root, 'scripts/bench/node-floor-relay.mjs'), NODE_FLOOR.host, String(NODE_FLOOR.port), a.backend, '9080']);
    await waitFor('node floor relay', () => tcpOpen(NODE_FLOOR.host, NODE_FLOOR.port), roles['node-relay']);
  }
  roles['node-relay-sink'] = startProcess('node-relay-sink', MESH, process.execPath, [path.join(root, 'scripts/bench/node-floor-relay.mjs'), NODE_FLOOR.host, String(NODE_FLOOR.sinkPort), a.sink, '9080']);
  await waitFor('node floor relay (bulk)', () => tcpOpen(NODE_FLOOR.host, NODE_FLOOR.sinkPort), roles['node-relay-sink']);
  await startMesh();
  roles['waypoint-full'] = await startRole(cli, 'waypoint-full', MESH, ['waypoint', '--gateway', 'default/waypoint-full', ...common], a.waypointFull);
  // RSS at rest: each role ready and idle for 2 s, before any traffic.
  await new Promise((r) => setTimeout(r, 2000));
  results.restRss = Object.fromEntries(['ztunnel-a', 'ztunnel-b', 'waypoint', 'waypoint-full', 'echo'].filter((n) => roles[n]).map((n) => [n, Math.round(rssOfTree(roles[n].pid))]));
  log(`RSS at rest (MiB): ${JSON.stringify(results.restRss)}`);

  const rows = [];
  // Small HTTP/1.1 requests.
  const viaClient = (port, p = '/') => `http://${a.client}:${port}${p}`;
  if (!has('wrk')) skip('HTTP/1.1 rows', 'wrk is not installed');
  else if (!nginx) skip('HTTP/1.1 rows', 'nginx is not installed');
  else {
    rows.push(loadRow(results.small, 'direct', `http://${a.backend}:9080/`, ['nginx']));
    if (roles.haproxy) rows.push(loadRow(results.small, 'HAProxy (plain L7 proxy)', `http://${HAPROXY.host}:${HAPROXY.port}/`, ['haproxy', 'nginx']));
    else skip('HAProxy (plain L7 proxy)', 'haproxy is not installed');
    rows.push(loadRow(results.small, NODE_FLOOR_ROW, `http://${NODE_FLOOR.host}:${NODE_FLOOR.port}/`, ['node-relay', 'nginx']));
    rows.push(loadRow(results.small, 'L4 (ztunnel → ztunnel)', viaClient(FIXED.l4), ['ztunnel-a', 'ztunnel-b', 'nginx']));
    rows.push(loadRow(results.small, 'waypoint', viaClient(FIXED.waypoint), ['ztunnel-a', 'waypoint', 'ztunnel-b', 'nginx']));
    rows.push(loadRow(results.small, 'waypoint + features', viaClient(FIXED.full), ['ztunnel-a', 'waypoint-full', 'ztunnel-b', 'nginx'], { headers: { authorization: `Bearer ${token}` } }));
    if (wasm.skipped) skip('waypoint + features: header-editing Wasm plugin', `${wasm.skipped}; the features row runs without it`);
    else results.wasmPlugin = wasm.file;
  }

  // HTTP/2 and gRPC through the echo app.
  if (!has('h2load')) skip('HTTP/2 and gRPC rows', 'h2load (nghttp2-client) is not installed');
  else {
    const grpcFile = path.join(work, 'grpc-request.bin');
    const msg = Buffer.from('0a0e68656c6c6f2c2062656e636821', 'hex');
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    writeFileSync(grpcFile, frame);
    const grpc = { dataFile: grpcFile, headers: { 'content-type': 'application/grpc', te: 'trailers' } };
    const h2 = { headers: {} };
    rows.push(loadRow(results.h2, 'h2 direct', `http://${a.echo}:9080/`, ['echo'], { h2 }));
    rows.push(loadRow(results.h2, 'h2 waypoint', viaClient(FIXED.echo), ['ztunnel-a', 'waypoint', 'ztunnel-b', 'echo'], { h2 }));
    rows.push(loadRow(results.h2, 'gRPC direct', `http://${a.echo}:9080/bench.Echo/Call`, ['echo'], { h2: grpc }));
    rows.push(loadRow(results.h2, 'gRPC waypoint', viaClient(FIXED.echo, '/bench.Echo/Call'), ['ztunnel-a', 'waypoint', 'ztunnel-b', 'echo'], { h2: grpc }));
  }

  // Bulk: one body of bulkMiB each way, per round.
  const bytes = bulkMiB * 1048576;
  const file = path.join(work, 'bulk.bin');
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes); // sparse: reading it costs no disk
  closeSync(fd);
  const bulkRows = [];
  for (const [scenario, base, names] of [
    ['direct', `http://${a.sink}:9080`, ['sink']],
    [NODE_FLOOR_ROW, `http://${NODE_FLOOR.host}:${NODE_FLOOR.sinkPort}`, ['node-relay-sink', 'sink']],
    ['L4 (ztunnel → ztunnel)', viaClient(FIXED.sinkL4, ''), ['ztunnel-a', 'ztunnel-b', 'sink']],
    ['waypoint path', viaClient(FIXED.sink, ''), ['ztunnel-a', 'waypoint', 'ztunnel-b', 'sink']],
  ]) {
    for (const direction of ['down', 'up']) bulkRows.push({ scenario, direction, url: direction === 'down' ? `${base}/bytes/${bytes}` : `${base}/upload`, names, rounds: [] });
  }

  // RSS at the fixed rate in a fresh waypoint: before any saturation or bulk row, which grow V8's
  // heap and leave it grown for the rest of the run (the per-round fixed-rate figures are taken
  // after those). One run at the rate settles JIT and pools, the next one is measured.
  const wpRow = rows.find((r) => r.scenario === 'waypoint');
  if (wpRow) {
    await wpRow.fixedRun();
    const fresh = await measure(pids('waypoint'), wpRow.fixedRun);
    if (fresh.result.ok) results.freshFixed = { rate, rssPeakMiB: fresh.procs.waypoint?.rssPeakMiB, p50: fresh.result.p50, p99: fresh.result.p99 };
    log(`fresh waypoint at ${rate} req/s: peak RSS ${fresh.procs.waypoint?.rssPeakMiB} MiB${fresh.result.ok ? '' : ` (${fresh.result.message})`}`);
  }

  for (const row of rows) await warmUp(row);
  for (let round = 0; round < rounds; round++) {
    const load1 = os.loadavg()[0];
    log(`round ${round + 1} of ${rounds} (1-min load average ${load1.toFixed(2)})`);
    results.roundLoad.push({ round: round + 1, loadavg1: Math.round(load1 * 100) / 100 });
    for (const row of orderForRound(rows, round)) await measureRow(row, round);
    for (const b of orderForRound(bulkRows, round)) {
      log(`bulk ${b.scenario} ${b.direction} round ${round + 1}`);
      const m = await measure(pids(...b.names), () => runCurlBulk({ url: b.url, direction: b.direction, file, cpus: LOAD }));
      if (!m.result.ok) log(`bulk ${b.scenario} ${b.direction} round ${round + 1}: ${m.result.message}`);
      else b.rounds.push({ round: round + 1, ...m.result, procs: m.procs });
    }
  }
  for (const row of rows) finishRow(row);
  for (const b of bulkRows) {
    if (b.rounds.length === 0) {
      skip(`bulk ${b.scenario} ${b.direction}`, 'no round succeeded');
      continue;
    }
    // Indexed by round, as the load rows' rounds are.
    const byRound = Array.from({ length: rounds }, (_, i) => b.rounds.find((r) => r.round === i + 1));
    const med = (k) => medianObject(b.rounds.map((r) => r[k]));
    results.bulk.push({ scenario: b.scenario, direction: b.direction, ok: true, seconds: med('seconds'), bytes: med('bytes'), mibPerSecond: med('mibPerSecond'), procs: med('procs'), spread: { mibPerSecond: spread(b.rounds.map((r) => r.mibPerSecond)) }, rounds: byRound });
  }

  // Multi-core: the waypoint with 1 then 2 workers; the client ztunnel runs 2 workers, so the
  // waypoint sees 2 HBONE connections (one per client worker's pool) to spread.
  if (has('wrk') && nginx) {
    results.scalingNote =
      'Everything on CPUs 0-1 (only 2 cores: load generator, ztunnels, nginx and the waypoint workers share them, so 2 workers cannot double). The client ztunnel runs --concurrency 2, so the waypoint receives 2 HBONE connections; node:cluster hands each accepted connection to the next worker.';
    for (const workers of [1, 2]) {
      for (const n of ['waypoint', 'ztunnel-a']) await roles[n]?.stop();
      await startMesh({ clientConcurrency: 2, waypointConcurrency: workers, cpus: BOTH });
      const url = viaClient(FIXED.waypoint);
      await runWrk({ url, seconds: warmSeconds, connections, cpus: BOTH });
      const before = await httpGetText(a.waypoint, 15020, '/stats/prometheus');
      const m = await measure(pids('waypoint'), () => runWrk({ url, seconds, connections, cpus: BOTH }));
      if (!m.result.ok) {
        skip(`multi-core ${workers} worker(s)`, m.result.message);
        continue;
      }
      const after = await httpGetText(a.waypoint, 15020, '/stats/prometheus');
      const counts = (text) => new Map([...text.matchAll(/^ambient_worker_http_requests_total\{worker="(\d+)"\} (\d+)/gm)].map((x) => [x[1], Number(x[2])]));
      const b = counts(before);
      const perWorker = [...counts(after)].map(([w, n]) => `worker ${w}: ${n - (b.get(w) ?? 0)}`).join(', ');
      const pr = perRequest(m.procs, m.result.requests);
      results.scaling.push({ workers, ...m.result, waypointUsPerRequest: pr.waypoint?.usPerRequest, perWorker: perWorker || undefined });
      log(`multi-core ${workers}: ${m.result.rps} req/s ${perWorker}`);
    }
  }
} catch (err) {
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  results.machineLoad = machineLoad.stop();
  log(`machine load during the run: ${JSON.stringify(results.machineLoad)}`);
}

if (!argv.includes('--no-micro')) {
  log('micro-benchmarks');
  const micro = await runMicroBenchmarks(root, LOAD);
  results.micro = micro.lines;
  for (const f of micro.failed) results.skipped.push(f);
}

const outDir = path.join(root, 'test/bench');
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
const md = markdown(results);
writeFileSync(path.join(outDir, 'RESULTS.md'), md);
process.stdout.write(md);
