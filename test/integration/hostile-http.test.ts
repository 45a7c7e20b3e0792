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
};

describe('hostile HTTP/1.1 at the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  for (const [name, request] of Object.entries(CASES)) {
    it(`answers 400 and closes: ${name}`, async () => {
      const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const ended = new Promise<void>((resolve) => socket.on('end', resolve));
      socket.write(request);
      await ended;
      socket.destroy();
      assert.match(text, /^HTTP\/1\.1 400 /);
    });
  }

  it('still serves well-formed requests afterwards, and no bad request reached an app', async () => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/after');
    assert.equal(res.status, 200);
    assert.equal(mesh.waypointRecords.filter((r) => r.responseCode === 200 && r.path !== '/after').length, 0);
  });
});
