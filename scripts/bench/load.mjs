// The load generators: wrk (HTTP/1.1, saturation), h2load (HTTP/2 and gRPC, saturation or fixed
// rate with --rps), and fixed-rate.mjs (our open-loop HTTP/1.1 generator: wrk cannot hold a rate).
// Each runs as its own process, pinned with taskset when given a CPU list.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function pinned(cpus, cmd, args) {
  return cpus && hasTaskset() ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
}

let h2loadKnown;
function hasH2load() {
  h2loadKnown ??= ['/usr/bin/h2load', '/usr/local/bin/h2load'].some((f) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  return h2loadKnown;
}

let tasksetKnown;
export function hasTaskset() {
  if (tasksetKnown === undefined) {
    try {
      tasksetKnown = readFileSync('/usr/bin/taskset').length > 0;
    } catch {
      tasksetKnown = false;
    }
  }
  return tasksetKnown;
}

export function run(cmd, args, timeoutMs = 600_000) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(t);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function ms(value, unit) {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : unit === 'm' ? v * 60_000 : v;
}

/** wrk -t1 -cN -dS --latency; latencies in ms. */
export async function runWrk({ url, seconds, connections = 50, headers = {}, cpus }) {
  const hdr = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const [cmd, args] = pinned(cpus, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...hdr, url]);
  const r = await run(cmd, args);
  const out = r.stdout;
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  if (r.code !== 0 || requests === 0) return { ok: false, message: `wrk failed (${r.code}): ${(r.stderr || out).trim().slice(0, 300)}` };
  return { ok: true, requests, errors, rps: Math.round(rps), p50: pct(50), p90: pct(90), p99: pct(99) };
}

/** Seconds of a fixed-rate run left out of its percentiles (fresh processes still compiling). */
const FIXED_RATE_WARM_UP_S = 1;

/**
 * The timing options of an h2load run. At saturation: `-D seconds` after a 1 s warm-up. At a fixed
 * rate (`rps` per client), h2load's timers of clients that connect together fire together: with 20
 * clients at 50 req/s, 92 % of the requests left in the same millisecond of every 20 ms, so the
 * "fixed rate" was bursts of 20 and the p50 measured how long a burst takes to drain, not a hop's
 * latency. `--rate=1 --rate-period=<P>` connects one client every P ms, P = period ÷ clients, which
 * spreads the clients' send times evenly over the period (h2load refuses `-D` with `--rate`, so the
 * run is `-n` requests long and the first second is cut from the log instead).
 */
function h2loadTiming(seconds, clients, rps) {
  if (!rps) return { args: ['-D', String(seconds), '--warm-up-time=1'], skipUntilUs: 0 };
  const periodMs = Math.max(1, Math.round(1000 / rps / clients));
  const total = Math.round(rps * clients * (seconds + FIXED_RATE_WARM_UP_S));
  return { args: ['-n', String(total), `--rps=${rps}`, '--rate=1', `--rate-period=${periodMs}ms`], skipUntilUs: FIXED_RATE_WARM_UP_S * 1e6 };
}

/**
 * h2load over h2c (prior knowledge). `rps` per client makes it a fixed-rate run (client send times
 * staggered: see h2loadTiming). Percentiles come from its per-request log (`--log-file`: start µs,
 * status, latency µs).
 */
export async function runH2load({ url, seconds, clients = 4, streams = 10, rps, headers = {}, dataFile, cpus, h1 = false }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-h2load-'));
  const log = path.join(dir, 'log.tsv');
  const hdr = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const timing = h2loadTiming(seconds, clients, rps);
  const base = ['-c', String(clients), '-m', String(streams), ...timing.args, `--log-file=${log}`, ...hdr];
  if (h1) base.push('--h1');
  if (dataFile) base.push('-d', dataFile);
  const [cmd, args] = pinned(cpus, 'h2load', [...base, url]);
  const r = await run(cmd, args);
  const out = r.stdout;
  let lat = [];
  try {
    const rows = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => f.length >= 3);
    const first = rows.reduce((m, f) => Math.min(m, Number(f[0])), Infinity);
    lat = rows
      .filter((f) => f[1].startsWith('2') && Number(f[0]) - first >= timing.skipUntilUs)
      .map((f) => Number(f[2]) / 1000)
      .sort((a, b) => a - b);
  } catch {
    // no log: reported below
  }
  rmSync(dir, { recursive: true, force: true });
  const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const rpsOut = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  if (!m || lat.length === 0) return { ok: false, message: `h2load failed (${r.code}): ${(r.stderr || out).trim().slice(0, 300)}` };
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  const ok2xx = status ? Number(status[1]) : lat.length;
  return { ok: true, requests: ok2xx, errors: Number(m[5]) + Number(m[6]) + (status ? Number(status[3]) + Number(status[4]) : 0), rps: Math.round(rpsOut), p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

/**
 * Fixed-rate HTTP/1.1 load. With h2load present: `h2load --h1 --rps`, `connections` keep-alive
 * connections each sending rate/connections requests per second, one outstanding at a time (C, so
 * it does not stall the way a Node generator on a busy core does: on the shared machine our Node
 * generator's direct p90 was 130 ms where h2load's was 1.2 ms in the same minute). Latency counts
 * from each request's send; at ≤ 50 req/s per connection and millisecond latencies a request is
 * rarely held behind the previous one, so coordinated omission stays negligible. Without h2load:
 * scripts/bench/fixed-rate.mjs (open-loop in Node). `generator` in the result says which ran.
 */
export async function runFixedRate({ url, seconds, rate, connections = 20, headers = {}, cpus, generator = 'auto' }) {
  if (generator !== 'node' && hasH2load()) {
    const perConnection = Math.max(1, Math.round(rate / connections));
    const r = await runH2load({ url, seconds, clients: connections, streams: 1, rps: perConnection, headers, cpus, h1: true });
    return r.ok ? { ...r, generator: `h2load --h1 -c${connections} -m1 --rps=${perConnection}, clients staggered` } : r;
  }
  const script = path.join(import.meta.dirname, 'fixed-rate.mjs');
  const [cmd, args] = pinned(cpus, process.execPath, [script, JSON.stringify({ url, seconds, rate, connections, headers })]);
  const r = await run(cmd, args);
  try {
    const res = JSON.parse(r.stdout.trim().split('\n').pop());
    return { ok: true, ...res, generator: 'scripts/bench/fixed-rate.mjs' };
  } catch {
    return { ok: false, message: `fixed-rate failed (${r.code}): ${r.stderr.trim().slice(0, 300)}` };
  }
}

/** One bulk transfer with curl: `down` GETs url, `up` PUTs `file`; returns seconds and MiB/s. */
export async function runCurlBulk({ url, direction, file, cpus }) {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total} %{size_download} %{size_upload}'];
  if (direction === 'up') args.push('-T', file, '-H', 'expect:');
  const [cmd, a] = pinned(cpus, 'curl', [...args, url]);
  const r = await run(cmd, a);
  const [code, time, down, up] = r.stdout.trim().split(' ');
  const bytes = direction === 'up' ? Number(up) : Number(down);
  if (r.code !== 0 || code !== '200' || !bytes) return { ok: false, message: `curl ${direction} failed (exit ${r.code}, status ${code}): ${r.stderr.trim().slice(0, 200)}` };
  return { ok: true, seconds: Number(time), bytes, mibPerSecond: Math.round(bytes / 1048576 / Number(time)) };
}
