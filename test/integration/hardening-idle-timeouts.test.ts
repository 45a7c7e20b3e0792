/**
 * Idle timeouts of the HTTP inside HBONE tunnels (issue 11 §2), with a small configured value in
 * place of Envoy's 1 h `idle_timeout`: a keep-alive HTTP/1.1 tunnel and an inner HTTP/2 session
 * (GOAWAY first) are closed once idle that long; a request in flight longer than the timeout is
 * not cut, because a connection with an active stream is not idle. And Envoy's stream idle timeout
 * (5 min by default), small here: a request on which nothing moves ends with 504 (upstream silent)
 * or 408 (request body stalled), flag `SI`.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const IDLE_MS = 300;
/** Generous: the close must come, but a starved machine may be slow to fire the timer. */
const CLOSE_BOUND_MS = 10_000;

describe('hardening: idle timeouts inside tunnels', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  before(async () => {
    mesh = await startLocalMesh({ waypointHttpLimits: { idleTimeoutMs: IDLE_MS } });
    sleep = mesh.pod('default', 'sleep');
  });
  after(async () => {
    await mesh?.close();
  });

  function closed(socket: net.Socket): Promise<number> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tunnel still open after ${CLOSE_BOUND_MS} ms`)), CLOSE_BOUND_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - t0);
      });
    });
  }

  it('HTTP/1.1: a slow request outlives the idle timeout; the idle keep-alive tunnel is then closed', async () => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const gone = closed(socket);
    // In flight for 3× the idle timeout: not idle.
    socket.write(`GET /slow HTTP/1.1\r\nHost: reviews\r\nx-echo-delay-ms: ${IDLE_MS * 3}\r\n\r\n`);
    await gone;
    assert.match(text, /^HTTP\/1\.1 200 /, 'the slow response arrived before the close');
    assert.doesNotMatch(text, /connection: close/i, 'kept alive, then closed for idleness');
  });

  it('inner HTTP/2: a slow stream outlives the idle timeout; the idle session then gets GOAWAY and closes', async () => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    socket.on('error', () => undefined);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    session.on('error', () => undefined);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const gone = new Promise<void>((resolve) => session.once('close', () => resolve()));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':path': '/slow', ':authority': 'reviews:9080', 'x-echo-delay-ms': String(IDLE_MS * 3) });
        let s = 0;
        req.on('response', (h) => (s = Number(h[':status'])));
        req.on('data', () => undefined);
        req.on('end', () => resolve(s));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(goaway, false, 'no GOAWAY while a stream was active');
      await Promise.race([gone, new Promise((_, reject) => setTimeout(() => reject(new Error('session still open')), CLOSE_BOUND_MS))]);
      assert.equal(goaway, true, 'closed with GOAWAY');
    } finally {
      session.destroy();
    }
  });
});

const STREAM_IDLE_MS = 400;

describe('hardening: stream idle timeout', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  before(async () => {
    mesh = await startLocalMesh({ waypointHttpLimits: { streamIdleTimeoutMs: STREAM_IDLE_MS } });
    sleep = mesh.pod('default', 'sleep');
  });
  after(async () => {
    await mesh?.close();
  });

  const record = (path: string) => mesh.waypointRecordFor(path);

  it('an upstream silent past the timeout: 504 stream timeout, flag SI', async () => {
    const res = await mesh.request(sleep, 'http://reviews:9080/silent', { headers: { 'x-echo-delay-ms': String(STREAM_IDLE_MS * 5) } });
    assert.equal(res.status, 504);
    assert.equal(res.body.toString(), 'stream timeout');
    const r = await record('/silent');
    assert.equal(r.responseFlags, 'SI');
    assert.equal(r.responseCodeDetails, 'stream_idle_timeout');
  });

  it('a request body that stops arriving: 408', async () => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('POST /stalled HTTP/1.1\r\nHost: reviews\r\ncontent-length: 100\r\n\r\nonly ten b');
    await Promise.race([ended, eventually(() => /\r\n\r\nstream timeout/.test(text), 10_000)]);
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 408 /);
  });

  it('HTTP/2: a silent upstream gets 504; a request answered within the timeout is served', async () => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    session.on('error', () => undefined);
    const get = (path: string, delayMs: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':path': path, ':authority': 'reviews:9080', 'x-echo-delay-ms': String(delayMs) });
        let s = 0;
        req.on('response', (h) => (s = Number(h[':status'])));
        req.on('data', () => undefined);
        req.on('end', () => resolve(s));
        req.on('error', reject);
        req.end();
      });
    try {
      assert.deepEqual(await Promise.all([get('/h2-silent', STREAM_IDLE_MS * 5), get('/h2-quick', 50)]), [504, 200]);
    } finally {
      session.destroy();
    }
  });
});
