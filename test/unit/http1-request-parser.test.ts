/**
 * The codec's request parser, case by case: every framing and smuggling rule the hostile tests
 * check through the mesh, with its status (400, 417, 431, 501), what Envoy forwards and llhttp
 * does not (extension methods), and what must not depend on chunk boundaries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequests } from '../helpers/http1-parse-requests.js';

function refused(text: string, status = 400, opts: { maxHeadBytes?: number; maxFields?: number } = {}): void {
  const o = parseRequests([Buffer.from(text, 'latin1')], opts);
  assert.equal(typeof o.verdict, 'object', `accepted: ${JSON.stringify(text.slice(0, 80))}`);
  assert.equal((o.verdict as { status: number }).status, status, JSON.stringify(text.slice(0, 80)));
}

function accepted(text: string): ReturnType<typeof parseRequests> {
  const bytes = Buffer.from(text, 'latin1');
  const o = parseRequests([bytes]);
  assert.equal(o.verdict, 'ok', `${JSON.stringify(o.verdict)} for ${JSON.stringify(text.slice(0, 80))}`);
  // One byte at a time: the same requests.
  const split = parseRequests([...bytes].map((b) => Buffer.from([b])));
  assert.deepEqual(split, o);
  return o;
}

describe('HTTP/1.1 request parser', () => {
  it('refuses framing and smuggling shapes with 400', () => {
    for (const text of [
      'POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
      'POST / HTTP/1.1\r\nHost: r\r\nContent-Length: 5, 5\r\n\r\nhello',
      'POST / HTTP/1.1\r\nHost: r\r\nContent-Length: +5\r\n\r\nhello',
      'POST / HTTP/1.1\r\nHost: r\r\nContent-Length: -1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5;a b\r\nhello\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n',
      'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\nHost: r\n\n',
      'GET / HTTP/1.1\r\nHost: r\r\nX-A: a\r\n b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: r\r\nX-A: a\x01b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: r\r\nX-A: a\rb\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: r\r\nX A: b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: r\r\n: b\r\n\r\n',
      'GET /a\x00b HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET /a\x80 HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET  / HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET / HTTP/1.7\r\nHost: r\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: r\r\nHost: evil\r\n\r\n',
      'GET http://evil.example/ HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET http://r@evil.example/ HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: r\r\n\r\n',
      'GET r:9080 HTTP/1.1\r\nHost: r\r\n\r\n',
      'G(T / HTTP/1.1\r\nHost: r\r\n\r\n',
      'HELLO\r\n\r\n',
    ]) {
      refused(text);
    }
  });

  it('answers size and count breaches with 431', () => {
    refused(`GET / HTTP/1.1\r\nHost: r\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431);
    refused(`GET /${'u'.repeat(70_000)} HTTP/1.1\r\nHost: r\r\n\r\n`, 431);
    refused(`GET / HTTP/1.1\r\nHost: r\r\n${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, 431);
    // Still incomplete but already too large: refused without waiting for the rest.
    refused(`GET / HTTP/1.1\r\nHost: r\r\nX-Big: ${'a'.repeat(70_000)}`, 431);
  });

  it('answers 501 for a transfer coding other than chunked, 417 for an unknown expectation', () => {
    refused('POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501);
    refused('POST / HTTP/1.1\r\nHost: r\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx', 417);
  });

  it('accepts what Envoy forwards: extension methods, OPTIONS *, absolute-form naming the Host', () => {
    const o = accepted('FOO /x HTTP/1.1\r\nHost: r\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: r\r\n\r\nGET http://r:80/abs HTTP/1.1\r\nHost: r:80\r\n\r\n');
    assert.deepEqual(
      o.requests.map((r) => [r.method, r.target]),
      [
        ['FOO', '/x'],
        ['OPTIONS', '*'],
        ['GET', 'http://r:80/abs'],
      ],
    );
  });

  it('reads bodies by Content-Length and chunked (extensions dropped, trailers kept), pipelined', () => {
    const o = accepted(
      '\r\nPOST /a HTTP/1.1\r\nHost: r\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /b HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n2;n=v;q="a\\"b"\r\nde\r\n1\r\nf\r\n0\r\nX-Trailer: t\r\n\r\n' +
        'GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    );
    assert.deepEqual(
      o.requests.map((r) => [r.target, r.body.toString(), r.trailers, r.keepAlive, r.minor]),
      [
        ['/a', 'abc', null, true, 1],
        ['/b', 'def', ['x-trailer', 't'], true, 1],
        ['/c', '', null, true, 0],
      ],
    );
  });

  it('lowercases names, trims values, keeps obs-text, and knows when the client closes', () => {
    const o = accepted('GET / HTTP/1.1\r\nHOST: r\r\nX-Latin: \t caf\xe9 \r\nConnection: close\r\n\r\n');
    const r = o.requests[0];
    assert.deepEqual(r?.headers, ['host', 'r', 'x-latin', 'caf\xe9', 'connection', 'close']);
    assert.equal(r?.keepAlive, false);
  });
});
