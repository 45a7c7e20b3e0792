import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { classifyPrefix, sniffStream } from '../../src/waypoint/sniff.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Reads everything until the stream ends (or `max` bytes). */
async function readAll(s: PassThrough, max = Infinity): Promise<string> {
  let out = '';
  s.resume();
  for await (const chunk of s) {
    out += (chunk as Buffer).toString('latin1');
    if (out.length >= max) break;
  }
  return out;
}

describe('classifyPrefix', () => {
  const cases: [string, string][] = [
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['POST /a?b=c HTTP/1.0\r\nHost: x\r\n', 'http1'],
    ['DELETE /x HTTP/1.1\n', 'http1'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http2'],
    ['PRI * HTTP/2.0\r\n', 'more'],
    ['PRI', 'more'],
    ['G', 'more'],
    ['GET', 'more'],
    ['GET ', 'more'],
    ['GET /index.html', 'more'],
    ['GET /index.html HTTP/1', 'more'],
    ['GET / HTTP/1.1', 'more'],
    ['GET / HTTP/1.1\r', 'more'],
    ['get / HTTP/1.1\r\n', 'tcp'],
    ['GET  / HTTP/1.1\r\n', 'tcp'],
    ['GET / HTTP/2.0\r\n', 'tcp'],
    ['GET / HTTP/1.x\r\n', 'tcp'],
    ['GET / HTTP/1.1\rX', 'tcp'],
    ['hello world\n', 'tcp'],
    ['\x16\x03\x01\x02\x00', 'tcp'],
    ['SSH-2.0-OpenSSH_9.0\r\n', 'tcp'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n', 'tcp'],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(classifyPrefix(b(input)), want));
  }
});

describe('sniffStream', () => {
  it('detects HTTP/1 and puts every byte back', async () => {
    const s = new PassThrough();
    const req = 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n';
    s.write(b(req));
    assert.deepEqual(await sniffStream(s, { timeoutMs: 1000 }), { protocol: 'http1' });
    s.end();
    assert.equal(await readAll(s), req);
  });

  it('waits across small chunks and keeps their order', async () => {
    const s = new PassThrough();
    const p = sniffStream(s, { timeoutMs: 2000 });
    s.write(b('PRI * HT'));
    // Chained, so the chunks arrive in order whatever the event loop's timing.
    setImmediate(() => {
      s.write(b('TP/2.0\r\n\r\nSM'));
      setTimeout(() => s.write(b('\r\n\r\n....')), 5);
    });
    assert.deepEqual(await p, { protocol: 'http2' });
    s.end();
    assert.equal(await readAll(s), 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n....');
  });

  it('classifies raw bytes as TCP at once', async () => {
    const s = new PassThrough();
    s.write(b('ping\n'));
    const started = Date.now();
    assert.deepEqual(await sniffStream(s, { timeoutMs: 5000 }), { protocol: 'tcp' });
    assert.ok(Date.now() - started < 1000);
    s.end();
    assert.equal(await readAll(s), 'ping\n');
  });

  it('gives up after the timeout (server-first protocol or slow client) → TCP, bytes kept', async () => {
    const s = new PassThrough();
    s.write(b('GET'));
    assert.deepEqual(await sniffStream(s, { timeoutMs: 30 }), { protocol: 'tcp' });
    s.end(b(' more'));
    assert.equal(await readAll(s), 'GET more');

    const silent = new PassThrough();
    assert.deepEqual(await sniffStream(silent, { timeoutMs: 30 }), { protocol: 'tcp' });
  });

  it('hands back bytes when the client half-closes before a decision', async () => {
    const s = new PassThrough();
    s.end(b('GE'));
    const r = await sniffStream(s, { timeoutMs: 1000 });
    assert.equal(r.protocol, 'tcp');
    assert.equal(r.endedWith?.toString('latin1'), 'GE');
  });

  it('leaves the stream paused for its consumer', async () => {
    const s = new PassThrough();
    s.write(b('GET / HTTP/1.1\r\n\r\n'));
    await sniffStream(s);
    assert.equal(s.isPaused(), true);
  });
});
