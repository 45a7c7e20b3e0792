/**
 * Memory held by paused streams (issue 11 §2): a client that stops reading a large response must
 * make the waypoint push back (socket pause, HTTP/2 flow control on both HBONE hops and on inner
 * HTTP/2) all the way to the app, instead of buffering the body. Asserted on what the app managed
 * to write while the client was not reading: it stalls far below the 64 MiB body, at what the
 * windows and socket buffers along the path hold. Reading again delivers every byte.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { echoProgress } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const BODY = 64 * 1024 * 1024;
/**
 * What the path may hold with nobody reading. In flight between the app and the client: two HBONE
 * stream windows (4 MiB each), the inner HTTP/2 window (1 MiB) and loopback socket buffers on
 * four TCP hops (a few MiB each with autotuning): measured 15 MiB (HTTP/1.1) and 8 MiB (HTTP/2).
 * Buffering the body would reach 64 MiB.
 */
const MAX_IN_FLIGHT = 32 * 1024 * 1024;

/** Waits until the app's progress for `key` stops moving (the path is full), and returns it. */
async function stalled(key: string): Promise<number> {
  let last = -1;
  let still = 0;
  return eventually(() => {
    const now = echoProgress(key);
    if (now === last && now > 0) still++;
    else still = 0;
    last = now;
    // Unchanged over 6 polls 100 ms apart: the path is full.
    assert.ok(still >= 6, `still moving: ${now}`);
    return now;
  }, 30_000, 100);
}

describe('hardening: a reader that stops makes the waypoint push back (no buffering)', () => {
  let mesh: LocalMesh;

  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  it('HTTP/1.1: a 64 MiB response to a client that does not read stalls the app; reading again gets every byte', async () => {
    const socket: net.Socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    let received = 0;
    let head = '';
    const headersIn = new Promise<void>((resolve) => {
      socket.on('data', function first(d: Buffer) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        received = Buffer.byteLength(head, 'latin1') - end - 4;
        socket.off('data', first);
        socket.pause();
        resolve();
      });
    });
    socket.write(`GET /bytes/${BODY} HTTP/1.1\r\nHost: reviews\r\nx-echo-progress: h1\r\nConnection: close\r\n\r\n`);
    await headersIn;
    assert.match(head, /^HTTP\/1\.1 200 /);
    const held = await stalled('h1');
    assert.ok(held < MAX_IN_FLIGHT, `the app wrote ${held} bytes to a reader that stopped`);
    process.stdout.write(`# hardening-backpressure figures ${JSON.stringify({ protocol: 'http1', appWroteWhilePaused: held, body: BODY })}\n`);
    const done = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await done;
    socket.destroy();
    assert.equal(received, BODY);
  });

  it('HTTP/2 inside the tunnel: a stream the client does not read is held by flow control', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    session.on('error', () => undefined);
    try {
      const req = session.request({ ':path': `/bytes/${BODY}`, ':authority': 'reviews:9080', 'x-echo-progress': 'h2' });
      req.end();
      await new Promise<void>((resolve) => req.once('response', () => resolve()));
      req.pause();
      const held = await stalled('h2');
      assert.ok(held < MAX_IN_FLIGHT, `the app wrote ${held} bytes to a stream nobody read`);
      process.stdout.write(`# hardening-backpressure figures ${JSON.stringify({ protocol: 'http2', appWroteWhilePaused: held, body: BODY })}\n`);
      let received = 0;
      req.on('data', (d: Buffer) => (received += d.length));
      const ended = new Promise<void>((resolve, reject) => {
        req.once('end', () => resolve());
        req.once('error', reject);
      });
      req.resume();
      await ended;
      assert.equal(received, BODY);
    } finally {
      session.destroy();
    }
  });
});
