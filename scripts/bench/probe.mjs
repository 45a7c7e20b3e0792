#!/usr/bin/env node
// A short, focused look at one cost of the bench mesh, for A/B work on a shared machine (the full
// `npm run bench` is the report; this is the tool for comparing two builds back to back):
//   node scripts/bench/probe.mjs rest            RSS of each role right after start and 3 s later
//   node scripts/bench/probe.mjs bulk [MiB]      one download through L4 (ztunnel → ztunnel):
//                                                CPU seconds per GiB per ztunnel, MiB/s, RSS
//                                                start → peak; --path waypoint goes through the
//                                                waypoint, --up uploads instead
//   node scripts/bench/probe.mjs fixed [rate]    fixed-rate latency, direct vs the waypoint path,
//                                                and each role's RSS at that rate
//                                                (--waypoint-only skips direct; --saturate S
//                                                runs S s of wrk first, as the bench does)
//   node scripts/bench/probe.mjs wrk             saturation through the waypoint: CPU µs/request
//                                                (--path l4: the L4 row, ztunnel → ztunnel, each
//                                                run next to HAProxy's, with each ztunnel ÷ HAProxy)
//   node scripts/bench/probe.mjs features        the same through the features waypoint (no Wasm;
//                                                --wasm adds the bench row's header-edit plugin)
// Options: --cli PATH (another build's dist/src/cli.js, for A/B), --node-args "ARGS" (V8 flags
// for the roles), --waypoint-node-args "ARGS" (the waypoint only, after --node-args), --seconds N,
// --runs N. Prints one JSON line per measurement.
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { ISSUER, wasmPlugin, writeBenchConfig } from './mesh-config.mjs';
import { hasTaskset, runCurlBulk, runFixedRate, runWrk } from './load.mjs';
import { measure, rssOfTree, rssSplitOfTree } from './proc-stats.mjs';
import { httpGetText, startHaproxy, startNginx, startProcess, startRole, stopAll, tcpOpen, waitFor } from './processes.mjs';
import { perRequest } from './report.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const positional = argv.filter((x, i) => !x.startsWith('--') && !(i > 0 && argv[i - 1].startsWith('--')));
const [what = 'rest', param] = positional;
const cli = path.resolve(opt('cli', path.join(root, 'dist/src/cli.js')));
// Added after the flags `ambient up` gives the roles (processes.mjs), so they can override them.
const nodeArgs = (opt('node-args', '') ?? '').split(' ').filter(Boolean);
const waypointNodeArgs = [...nodeArgs, ...(opt('waypoint-node-args', '') ?? '').split(' ').filter(Boolean)];
const seconds = Number(opt('seconds', '5'));
// --role-stdout DIR: each role's stdout goes to DIR/<role>.log (with --node-args --trace-gc: its GCs).
const roleStdoutDir = opt('role-stdout', undefined);
const roleOut = (name) => (roleStdoutDir ? { stdoutFile: path.join(path.resolve(roleStdoutDir), `${name}.log`) } : {});
const runs = Number(opt('runs', '1'));
const pin = (os.availableParallelism?.() ?? 1) >= 2 && hasTaskset();
const LOAD = pin ? '0' : undefined;
const MESH = pin ? '1' : undefined;
const out = (o) => process.stdout.write(`${JSON.stringify({ what, cli: path.relative(root, cli) || cli, nodeArgs: nodeArgs.join(' '), ...o })}\n`);

const third = 200 + Math.floor(Math.random() * 50);
const work = mkdtempSync(path.join(os.tmpdir(), 'ambient-probe-'));
const cfg = path.join(work, 'config');
mkdirSync(cfg);
const { publicKey, privateKey } = await generateKeyPair('ES256');
const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(ISSUER).setSubject('bench').setExpirationTime('1d').sign(privateKey);
const a = writeBenchConfig(cfg, third, { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }, argv.includes('--wasm') ? wasmPlugin(root) : {});
const common = ['--config', cfg, '--state', path.join(work, 'state'), '--quiet'];
const FIXED = { l4: 18081, waypoint: 18082, full: 18083, sink: 18085, sinkL4: 18086 };
const fixedArgs = [`${a.client}:${FIXED.l4}=default/client->backend-l4:9080`, `${a.client}:${FIXED.waypoint}=default/client->backend:9080`, `${a.client}:${FIXED.full}=default/client->backend-full:9080`, `${a.client}:${FIXED.sink}=default/client->sink:9080`, `${a.client}:${FIXED.sinkL4}=default/client->sink-l4:9080`].flatMap((s) => [
  '--outbound-fixed',
  s,
]);

const roles = {};
try {
  roles.nginx = await startNginx(work, a.backend, 9080, MESH);
  roles.sink = startProcess('sink', MESH, process.execPath, [path.join(root, 'scripts/bench/sink-server.mjs'), a.sink, '9080']);
  await waitFor('sink', () => tcpOpen(a.sink, 9080), roles.sink);
  const t0 = Date.now();
  roles['ztunnel-a'] = await startRole(cli, 'ztunnel-a', MESH, ['ztunnel', '--node', 'node-a', '--admin-address', a.nodeA, ...common, ...fixedArgs], a.nodeA, nodeArgs, roleOut('ztunnel-a'));
  roles['ztunnel-b'] = await startRole(cli, 'ztunnel-b', MESH, ['ztunnel', '--node', 'node-b', '--admin-address', a.nodeB, ...common], a.nodeB, nodeArgs, roleOut('ztunnel-b'));
  if (what !== 'features') roles.waypoint = await startRole(cli, 'waypoint', MESH, ['waypoint', '--gateway', 'default/waypoint', ...common], a.waypoint, waypointNodeArgs, roleOut('waypoint'));
  const startMs = Date.now() - t0;
  const pid = (...n) => Object.fromEntries(n.map((x) => [x, roles[x].pid]));
  const rss = () => Object.fromEntries(['ztunnel-a', 'ztunnel-b', 'waypoint'].map((n) => [n, Math.round(rssOfTree(roles[n].pid))]));

  if (what === 'rest') {
    const ready = rss();
    await new Promise((r) => setTimeout(r, 3000));
    if (argv.includes('--hold')) {
      process.stderr.write(`holding: pids ${JSON.stringify(pid("ztunnel-a", "ztunnel-b", "waypoint"))} l4 http://${a.client}:${FIXED.l4}/ waypoint http://${a.client}:${FIXED.waypoint}/ bulk http://${a.client}:${FIXED.sinkL4}/bytes/N direct http://${a.backend}:9080/; Ctrl-C or kill ${process.pid} to stop\n`);
      await new Promise((r) => process.once('SIGTERM', r).once('SIGINT', r));
    }
    const memory = {};
    for (const [n, host] of [['ztunnel-a', a.nodeA], ['ztunnel-b', a.nodeB], ['waypoint', a.waypoint]]) {
      const text = await httpGetText(host, 15000, '/memory');
      if (text) memory[n] = JSON.parse(text);
    }
    const split = Object.fromEntries(['ztunnel-a', 'ztunnel-b', 'waypoint'].map((n) => [n, rssSplitOfTree(roles[n].pid)]));
    out({ startAllMs: startMs, rssReadyMiB: ready, rssAfter3sMiB: rss(), rssAnonFileMiB: split, memory });
  } else if (what === 'bulk') {
    const mib = Number(param ?? 256);
    const file = path.join(work, 'bulk.bin');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, mib * 1048576);
    closeSync(fd);
    const viaWaypoint = opt('path', 'l4') === 'waypoint';
    const direction = argv.includes('--up') ? 'up' : 'down';
    const names = viaWaypoint ? ['ztunnel-a', 'waypoint', 'ztunnel-b', 'sink'] : ['ztunnel-a', 'ztunnel-b', 'sink'];
    const port = viaWaypoint ? FIXED.sink : FIXED.sinkL4;
    for (let i = 0; i < runs; i++) {
      const url = `http://${a.client}:${port}/${direction === 'up' ? 'upload' : `bytes/${mib * 1048576}`}`;
      const m = await measure(pid(...names), () => runCurlBulk({ url, direction, file, cpus: LOAD }));
      const perGiB = Object.fromEntries(Object.entries(m.procs).map(([n, p]) => [n, Math.round((p.cpuSeconds * 1024 * 100) / mib) / 100]));
      const rssMiB = Object.fromEntries(Object.entries(m.procs).map(([n, p]) => [n, `${Math.round(p.rssStartMiB)}→${Math.round(p.rssPeakMiB)}`]));
      out({ mib, path: viaWaypoint ? 'waypoint' : 'l4', direction, load1: os.loadavg()[0], ok: m.result.ok, mibPerSecond: m.result.mibPerSecond, seconds: m.result.seconds, cpuSecondsPerGiB: perGiB, rssMiB });
    }
  } else if (what === 'fixed') {
    const rate = Number(param ?? 1000);
    for (let i = 0; i < runs; i++) {
      for (const [scenario, url, names] of [
        ['direct', `http://${a.backend}:9080/`, ['nginx']],
        ['waypoint', `http://${a.client}:${FIXED.waypoint}/`, ['ztunnel-a', 'waypoint', 'ztunnel-b']],
      ].filter(([s]) => !argv.includes('--waypoint-only') || s === 'waypoint')) {
        // --saturate S: S seconds of wrk at 50 connections first, as the bench's saturation row
        // runs before its fixed-rate row in the same processes.
        const saturate = Number(opt('saturate', '0'));
        if (saturate > 0) await runWrk({ url, seconds: saturate, connections: 50, cpus: LOAD });
        await runWrk({ url, seconds: 1, connections: 16, cpus: LOAD });
        const m = await measure(pid(...names), () => runFixedRate({ url, seconds, rate, connections: 20, cpus: LOAD, generator: opt('generator', 'auto') }));
        const r = m.result;
        const pr = perRequest(m.procs, r.requests ?? 1);
        out({ scenario, rate, ok: r.ok, achieved: r.rps, p50: r.p50, p90: r.p90, p99: r.p99, errors: r.errors, generator: r.generator, cpuUsPerRequest: Object.fromEntries(Object.entries(pr).map(([n, p]) => [n, p.usPerRequest])), rssPeakMiB: Object.fromEntries(Object.entries(m.procs).map(([n, p]) => [n, p.rssPeakMiB])), rssAfterAnonFileMiB: Object.fromEntries(['ztunnel-a', 'ztunnel-b', 'waypoint'].filter((n) => roles[n]).map((n) => [n, rssSplitOfTree(roles[n].pid)])) });
      }
    }
  } else if (what === 'wrk' && opt('path', 'waypoint') === 'l4') {
    // The bench's L4 row with HAProxy (configured as the bench's) as the same-run reference:
    // each run measures HAProxy then L4 back to back, so their ratio shares the machine's load.
    const hap = { host: a.nodeA.replace(/\.1$/, '.9'), port: 18090 };
    roles.haproxy = await startHaproxy(work, hap.host, hap.port, `${a.backend}:9080`, MESH);
    const rows = [
      ['haproxy', `http://${hap.host}:${hap.port}/`, ['haproxy', 'nginx']],
      ['l4', `http://${a.client}:${FIXED.l4}/`, ['ztunnel-a', 'ztunnel-b', 'nginx']],
    ];
    for (const [, url] of rows) await runWrk({ url, seconds: 2, connections: 50, cpus: LOAD });
    for (let i = 0; i < runs; i++) {
      const got = {};
      for (const [name, url, names] of rows) {
        const m = await measure(pid(...names), () => runWrk({ url, seconds, connections: 50, cpus: LOAD }));
        got[name] = { rps: m.result.rps, us: Object.fromEntries(Object.entries(perRequest(m.procs, m.result.requests)).map(([n, p]) => [n, p.usPerRequest])) };
      }
      const h = got.haproxy.us.haproxy;
      out({ path: 'l4', load1: os.loadavg()[0], haproxy: got.haproxy, l4: got.l4, ztunnelOverHaproxy: h ? { 'ztunnel-a': +(got.l4.us['ztunnel-a'] / h).toFixed(2), 'ztunnel-b': +(got.l4.us['ztunnel-b'] / h).toFixed(2) } : undefined });
    }
  } else if (what === 'wrk' || what === 'features') {
    // `features`: the waypoint with 50 routes, authz and JWT (no Wasm plugin), as the bench's row.
    const full = what === 'features';
    if (full) roles.waypoint = await startRole(cli, 'waypoint-full', MESH, ['waypoint', '--gateway', 'default/waypoint-full', ...common], a.waypointFull, waypointNodeArgs, roleOut('waypoint-full'));
    const url = `http://${a.client}:${full ? FIXED.full : FIXED.waypoint}/`;
    const headers = full ? { authorization: `Bearer ${token}` } : {};
    // A Wasm plugin is instrumented and compiled before the first request passes (seconds on a
    // loaded machine): warm up until the path answers, so no run measures the start-up.
    let warm = await runWrk({ url, seconds: 2, connections: 50, headers, cpus: LOAD });
    for (let i = 0; i < 5 && !warm.ok; i++) warm = await runWrk({ url, seconds: 2, connections: 50, headers, cpus: LOAD });
    if (!warm.ok) out({ warmUp: warm.message.slice(0, 200) });
    for (let i = 0; i < runs; i++) {
      const m = await measure(pid('ztunnel-a', 'waypoint', 'ztunnel-b'), () => runWrk({ url, seconds, connections: 50, headers, cpus: LOAD }));
      const pr = perRequest(m.procs, m.result.requests);
      out({ rps: m.result.rps, p50: m.result.p50, usPerRequest: Object.fromEntries(Object.entries(pr).map(([n, p]) => [n, p.usPerRequest])), rssPeakMiB: Object.fromEntries(Object.entries(m.procs).map(([n, p]) => [n, p.rssPeakMiB])) });
    }
  } else {
    throw new Error(`unknown probe '${what}' (rest, bulk, fixed, wrk, features)`);
  }
} finally {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
}
