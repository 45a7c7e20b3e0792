/**
 * Serialisation of upstream HTTP/1.1 requests: undici's head layout (request line, host,
 * connection, fields, framing), the framing rules (no Content-Length for a bodyless GET,
 * `content-length: 0` for a bodyless POST, the length of a Buffer, chunked for a stream without
 * one), the fields the client owns, and every value it must refuse before a byte leaves.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { UpstreamH1Error } from '../../src/upstream/h1/h1-error.js';
import { H1Request } from '../../src/upstream/h1/h1-request.js';
import { seededRandom } from '../helpers/seeded-random.js';

const handler: Dispatcher.DispatchHandler = {};

function req(options: Partial<Dispatcher.DispatchOptions>): H1Request {
  return new H1Request({ method: 'GET', path: '/', ...options }, handler, '127.1.0.31:8080');
}

function refused(options: Partial<Dispatcher.DispatchOptions>): void {
  assert.throws(
    () => req(options),
    (e: unknown) => e instanceof UpstreamH1Error && e.code === 'H1_INVALID_REQUEST',
    JSON.stringify(options.headers ?? options),
  );
}

describe('h1 request serialisation', () => {
  it('lays the head out like undici, with no framing for a bodyless GET', () => {
    const r = req({ path: '/p?q=1', headers: ['x-a', '1', 'host', 'svc:80', 'x-a', '2'] });
    assert.equal(r.head(true, r.framing(r.contentLength)), 'GET /p?q=1 HTTP/1.1\r\nhost: svc:80\r\nconnection: keep-alive\r\nx-a: 1\r\nx-a: 2\r\n\r\n');
    assert.equal(r.head(false, r.framing(0)), 'GET /p?q=1 HTTP/1.1\r\nhost: svc:80\r\nconnection: close\r\nx-a: 1\r\nx-a: 2\r\n\r\n');
  });

  it('defaults host to the endpoint address and takes Record headers with array values', () => {
    const r = req({ headers: { 'x-m': ['a', 'b'], 'x-n': undefined } });
    assert.equal(r.head(true, '\r\n'), 'GET / HTTP/1.1\r\nhost: 127.1.0.31:8080\r\nconnection: keep-alive\r\nx-m: a\r\nx-m: b\r\n\r\n');
  });

  it('frames bodies: content-length 0 for a bodyless POST, a Buffer its length, a stream chunked or its header', () => {
    const post = req({ method: 'POST' });
    assert.equal(post.framing(post.contentLength), 'content-length: 0\r\n\r\n');
    const buf = req({ method: 'POST', body: Buffer.from('hello'), headers: ['content-length', '5'] });
    assert.equal(buf.contentLength, 5);
    assert.doesNotMatch(buf.head(true, ''), /content-length/);
    const stream = req({ method: 'POST', body: Readable.from(['x']) });
    assert.equal(stream.contentLength, null);
    assert.equal(stream.framing(null), 'transfer-encoding: chunked\r\n\r\n');
    const sized = req({ method: 'PUT', body: Readable.from(['x']), headers: ['Content-Length', '1'] });
    assert.equal(sized.contentLength, 1);
    assert.equal(sized.framing(1), 'content-length: 1\r\n\r\n');
    // An empty Buffer or string is no body.
    assert.equal(req({ method: 'POST', body: Buffer.alloc(0) }).body, null);
    assert.equal(req({ method: 'POST', body: '' }).body, null);
  });

  it('owns connection: close asks to close, and the field itself is not copied', () => {
    const r = req({ headers: ['connection', 'close', 'x-a', '1'] });
    assert.equal(r.closeRequested, true);
    assert.equal(r.head(false, '\r\n'), 'GET / HTTP/1.1\r\nhost: 127.1.0.31:8080\r\nconnection: close\r\nx-a: 1\r\n\r\n');
  });

  it('refuses what cannot be written, before any byte leaves', () => {
    refused({ headers: ['x-a', 'a\r\nb'] });
    refused({ headers: ['x-a', 'a\nb'] });
    refused({ headers: ['x-a', 'a\0b'] });
    refused({ headers: ['x-a', 'caf\u00e9\u2603'] });
    refused({ headers: ['bad name', 'v'] });
    refused({ headers: ['', 'v'] });
    refused({ headers: ['transfer-encoding', 'chunked'] });
    refused({ headers: ['expect', '100-continue'] });
    refused({ headers: ['upgrade', 'websocket'] });
    refused({ headers: ['keep-alive', 'timeout=5'] });
    refused({ headers: ['host', 'a', 'Host', 'b'] });
    refused({ headers: ['content-length', '1', 'content-length', '1'] });
    refused({ headers: ['content-length', '-1'] });
    refused({ headers: ['connection', 'a b'] });
    refused({ method: 'G ET' });
    refused({ path: '/a b' });
    refused({ path: 'relative' });
    refused({ headers: { 'x-a': { nested: true } } as unknown as Dispatcher.DispatchOptions['headers'] });
  });

  it('property: random values are refused exactly when they hold a control byte (other than tab)', () => {
    const rand = seededRandom(0x48315251);
    for (let n = 0; n < 2000; n++) {
      let value = '';
      for (let i = Math.floor(rand() * 12); i > 0; i--) value += String.fromCharCode(Math.floor(rand() * 256));
      const bad = [...value].some((c) => {
        const code = c.charCodeAt(0);
        return (code < 0x20 && code !== 9) || code === 0x7f;
      });
      if (bad) refused({ headers: ['x-v', value] });
      else assert.ok(req({ headers: ['x-v', value] }).head(true, '\r\n').includes(`\r\nx-v: ${value}\r\n`));
    }
  });
});
