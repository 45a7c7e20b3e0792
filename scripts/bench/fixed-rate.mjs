// Open-loop fixed-rate HTTP/1.1 load (what wrk2 does and wrk cannot): request i is due at
// t0 + i/rate whatever happened before, on keep-alive connection i mod N; latency counts from the
// due time, so a slow answer shows in the tail instead of silently lowering the rate (no
// coordinated omission) and requests stay evenly spaced (h2load's --rps clients fire together and
// re-synchronise after any slow answer: bursts).
//
// Why raw sockets and a spinning scheduler: libuv timers have 1 ms resolution and an HTTP client
// library adds its own queueing, GC and parser time to every sample (the undici version of this
// script measured a 49 ms p99 against a bare nginx on an idle machine). The bench gives load
// generators their own core (CPU 0), so this process polls the clock between I/O rounds with
// setImmediate, which never blocks in the poll phase, and parses only what it needs: the status
// line and the body framing (Content-Length or chunked).
//
// Prints one JSON line: requests (2xx answered), errors, achieved rps, p50/p90/p99 ms.
// Usage: node fixed-rate.mjs '{"url":"http://h:p/","seconds":10,"rate":1000,"connections":20,"headers":{},"warmUpSeconds":1}'
import net from 'node:net';
import { setImmediate } from 'node:timers';
import { URL } from 'node:url';

const { url, seconds, rate, connections, headers = {}, warmUpSeconds = 1 } = JSON.parse(process.argv[2]);
const u = new URL(url);
const head = Buffer.from(
  `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
    Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n',
  'latin1',
);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const warmUp = Math.round(warmUpSeconds * rate);
const total = warmUp + Math.round(seconds * rate);
const lat = [];
let errors = 0;
let answered = 0;
let t0 = 0;

/** One keep-alive connection: requests queue on it in order; one in flight at a time. */
class Conn {
  constructor() {
    this.queue = []; // due times (ms) of requests assigned to this connection, oldest first
    this.busy = false;
    this.buf = Buffer.alloc(0);
    this.need = -1; // body bytes still expected (-1: reading the head; -2: chunked)
    this.status = 0;
    this.ready = new Promise((resolve, reject) => {
      this.socket = net.connect({ host: u.hostname, port: Number(u.port || 80), noDelay: true }, resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('close', () => {
      errors += this.queue.length;
      this.queue.length = 0;
      this.dead = true;
    });
  }

  assign(due) {
    if (this.dead) {
      errors++;
      return;
    }
    this.queue.push(due);
    if (!this.busy) this.sendNext();
  }

  sendNext() {
    if (this.queue.length === 0) return;
    this.busy = true;
    this.socket.write(head);
  }

  onData(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.need === -1) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = this.buf.subarray(0, end).toString('latin1');
        this.status = Number(text.slice(9, 12));
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        this.need = /\r\ntransfer-encoding:\s*chunked/i.test(text) ? -2 : cl ? Number(cl[1]) : 0;
        this.buf = this.buf.subarray(end + 4);
      }
      if (this.need === -2) {
        // Small bench bodies: wait for the whole chunked body, then skip to its terminator.
        const end = this.buf.indexOf('0\r\n\r\n');
        if (end < 0) return;
        this.buf = this.buf.subarray(end + 5);
      } else {
        if (this.buf.length < this.need) return;
        this.buf = this.buf.subarray(this.need);
      }
      this.need = -1;
      this.done();
    }
  }

  done() {
    const due = this.queue.shift();
    const index = answered++;
    if (this.status >= 200 && this.status < 300) {
      if (index >= warmUp) lat.push(nowMs() - due);
    } else errors++;
    this.busy = false;
    this.sendNext();
    if (answered + errors >= total) finish();
  }
}

const pool = Array.from({ length: connections }, () => new Conn());
await Promise.all(pool.map((c) => c.ready));
t0 = nowMs() + 20;
let next = 0;

function spin() {
  const now = nowMs();
  while (next < total && t0 + (next * 1000) / rate <= now) {
    pool[next % connections].assign(t0 + (next * 1000) / rate);
    next++;
  }
  if (next < total) setImmediate(spin);
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  const elapsed = (nowMs() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  process.stdout.write(JSON.stringify({ requests: answered, errors, rps: Math.round(answered / elapsed), p50: q(0.5), p90: q(0.9), p99: q(0.99) }) + '\n');
  for (const c of pool) c.socket.destroy();
  process.exit(0);
}

// A run that cannot finish (a dead upstream) still reports: give up 10 s after the last due time.
setTimeout(() => finish(), (seconds + warmUpSeconds) * 1000 + 10_000).unref();
setImmediate(spin);
