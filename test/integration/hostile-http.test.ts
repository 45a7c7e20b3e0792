/**
 * Malformed and smuggling-shaped HTTP/1.1 sent through the mesh to the waypoint: each gets a 400
 * and the waypoint closes its side; nothing reaches the app and the waypoint keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const CASES: Readonly<Record<string, string>> = {
  'Content-Length with Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'two different Content-Lengths': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
  'bare LF line endings': 'GET / HTTP/1.1\nHost: reviews\n\n',
  'obs-fold header continuation': 'GET / HTTP/1.1\r\nHost: reviews\r\nX-A: a\r\n b\r\n\r\n',
  'control byte in a header value': 'GET / HTTP/1.1\r\nHost: reviews\r\nX-A: a\x01b\r\n\r\n',
  'not HTTP at all': 'HELLO\r\n\r\n',
  'a 100 KB header': `GET / HTTP/1.1\r\nHost: reviews\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`,
  // Issue 11: more smuggling shapes.
  'two identical Content-Lengths': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
  'Content-Length list': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5, 5\r\n\r\nhello',
  'non-numeric Content-Length': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5a\r\n\r\nhello',
  'negative Content-Length': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: -1\r\n\r\n',
  'signed Content-Length': 'POST / HTTP/1.1\r\nHost: reviews\r\nContent-Length: +5\r\n\r\nhello',
  'Transfer-Encoding not ending in chunked': 'POST / HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
  'whitespace before the colon': 'POST / HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
  'bad chunk size': 'POST / HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  'bare LF inside a chunked body': 'POST / HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n',
  'space in a header name': 'GET / HTTP/1.1\r\nHost: reviews\r\nX A: b\r\n\r\n',
  'NUL in the request line': 'GET /a\x00b HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'bare CR in a header value': 'GET / HTTP/1.1\r\nHost: reviews\r\nX-A: a\rb\r\n\r\n',
  'absolute-form naming another host': 'GET http://evil.example/ HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'absolute-form with userinfo': 'GET http://reviews@evil.example/ HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'asterisk-form with GET': 'GET * HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'authority-form with GET': 'GET reviews:9080 HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'HTTP/1.1 without Host': 'GET / HTTP/1.1\r\n\r\n',
  'two Host headers': 'GET / HTTP/1.1\r\nHost: reviews\r\nHost: evil\r\n\r\n',
  'unknown HTTP version': 'GET / HTTP/1.7\r\nHost: reviews\r\n\r\n',
};

/** Refusals with a status other than 400 (Envoy's codec answers 431 for size and count). */
const STATUS: Readonly<Record<string, number>> = {
  'a 100 KB header': 431,
  'a 70 KB URI': 431,
  '101 headers': 431,
};

const LIMIT_CASES: Readonly<Record<string, string>> = {
  'a 70 KB URI': `GET /${'u'.repeat(70_000)} HTTP/1.1\r\nHost: reviews\r\n\r\n`,
  '101 headers': `GET / HTTP/1.1\r\nHost: reviews\r\n${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`,
};

describe('hostile HTTP/1.1 at the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  for (const [name, request] of Object.entries({ ...CASES, ...LIMIT_CASES })) {
    it(`answers ${STATUS[name] ?? 400} and closes: ${name}`, async () => {
      const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const ended = new Promise<void>((resolve) => socket.on('end', resolve));
      socket.write(request);
      // Bounded: a request wrongly accepted would keep the connection open.
      await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error(`not closed; got ${JSON.stringify(text.slice(0, 80))}`)), 5000).unref())]);
      socket.destroy();
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${STATUS[name] ?? 400} `));
      // One response, nothing after it: the rest of the bytes were never parsed as a request.
      assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1);
    });
  }

  it('strips hop-by-hop headers, including ones the Connection header names', async () => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/hop', {
      headers: { connection: 'keep-alive, x-secret', 'x-secret': '1', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', 'x-kept': 'yes' },
    });
    assert.equal(res.status, 200);
    const seen = res.json<{ headers: Record<string, string> }>().headers;
    for (const h of ['x-secret', 'keep-alive', 'proxy-connection']) assert.equal(seen[h], undefined, h);
    assert.equal(seen['x-kept'], 'yes');
  });

  it('a refused request pipelined behind one in flight: 200 then 400, no crash (fuzz finding)', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.write('GET /first HTTP/1.1\r\nHost: reviews\r\nx-echo-delay-ms: 100\r\n\r\nGET http://evil.example/ HTTP/1.1\r\nHost: reviews\r\n\r\n');
    await new Promise<void>((resolve) => socket.on('end', resolve));
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 400 /);
  });

  it('serves absolute-form whose authority is the Host', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.write('GET http://reviews:9080/abs HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n');
    await new Promise<void>((resolve) => socket.on('end', resolve));
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 200 /);
  });

  it('still serves well-formed requests afterwards, and no bad request reached an app', async () => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/after');
    assert.equal(res.status, 200);
    assert.equal(mesh.waypointRecords.filter((r) => r.responseCode === 200 && r.path !== '/after' && r.path !== '/first' && r.path !== '/hop' && r.path !== '/abs' && r.path !== 'http://reviews:9080/abs').length, 0);
  });
});
