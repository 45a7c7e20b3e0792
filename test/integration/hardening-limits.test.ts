/**
 * Slowloris at the waypoint (issue 11 §2): a client that opens a tunnel and trickles a request's
 * headers, or never sends one, gets 408 and a closed tunnel once the header-read timeout passes;
 * a client that sends its headers in time is served. (Size and count limits: hostile-http.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const HEADERS_TIMEOUT_MS = 400;

describe('hardening: header-read timeout (slowloris)', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ waypointHttpLimits: { requestHeadersTimeoutMs: HEADERS_TIMEOUT_MS } });
  });
  after(async () => {
    await mesh?.close();
  });

  async function trickle(parts: readonly string[], gapMs: number): Promise<{ text: string; ms: number }> {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const t0 = Date.now();
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    for (const p of parts) {
      if (socket.destroyed) break;
      socket.write(p);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    await Promise.race([ended, new Promise((r) => setTimeout(r, 10_000))]);
    socket.destroy();
    return { text, ms: Date.now() - t0 };
  }

  it('headers trickled one line at a time past the timeout: 408 and closed', async () => {
    const lines = ['GET / HTTP/1.1\r\n', 'Host: reviews\r\n', ...Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: 1\r\n`)];
    const r = await trickle(lines, 100);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
    assert.ok(r.ms < 5000, `closed after ${r.ms} ms`);
  });

  it('a tunnel that never sends a request: 408 and closed', async () => {
    const r = await trickle([], 0);
    assert.match(r.text, /^HTTP\/1\.1 408 /);
  });

  it('headers within the timeout are served, across keep-alive requests spaced wider than it', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.write('GET /one HTTP/1.1\r\nHost: reviews\r\n\r\n');
    // Idle between requests is not header time: the second request comes after 2× the timeout.
    await new Promise((r) => setTimeout(r, HEADERS_TIMEOUT_MS * 2));
    socket.write('GET /two HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.destroy();
    assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text.slice(0, 200));
  });
});
