/**
 * The waypoint's own HTTP/1.1 codec over the real data path (client → ztunnel → HBONE →
 * waypoint → ztunnel → echo app), on long-lived keep-alive connections: what Envoy forwards is
 * forwarded (extension methods, `OPTIONS *`), pipelined requests are answered in order with a
 * valid one answered before a later 400, bodies keep their framing, and a drain keeps serving
 * with `connection: close` and never runs a request it cannot answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { RawClient } from '../helpers/raw-h1-client.js';

function report(body: string): EchoReport {
  return JSON.parse(body) as EchoReport;
}

describe('HTTP/1.1 codec at the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  it('forwards an extension method, as Envoy does', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('FOO /ext HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const [r] = await c.waitFor(1);
    c.close();
    // The echo app is a Node server, whose llhttp refuses the method: the 400 is the app's, and
    // the record shows the request went upstream (the waypoint's codec used to answer 400 itself).
    const rec = await mesh.waypointRecordFor('/ext');
    assert.equal(rec.method, 'FOO');
    assert.equal(rec.responseCodeDetails, 'via_upstream');
    assert.equal(rec.responseCode, r?.status);
  });

  it('forwards OPTIONS * (asterisk-form)', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('OPTIONS * HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const [r] = await c.waitFor(1);
    c.close();
    assert.equal(r?.status, 200, r?.head);
    const seen = report(r.body);
    assert.equal(seen.method, 'OPTIONS');
    assert.equal(seen.path, '*');
  });

  it('pipelined requests are answered in order on one connection, bodies and all', async () => {
    const c = await RawClient.open(mesh);
    const reqs: string[] = [];
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 1) reqs.push(`POST /p${i} HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n\r\nhello`);
      else if (i % 3 === 2) reqs.push(`POST /p${i} HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nx-t: 1\r\n\r\n`);
      else reqs.push(`GET /p${i} HTTP/1.1\r\nHost: reviews\r\nx-echo-delay-ms: ${(10 - i) * 5}\r\n\r\n`);
    }
    c.socket.write(reqs.join(''));
    const rs = await c.waitFor(10);
    c.close();
    assert.deepEqual(
      rs.map((r) => report(r.body).path),
      reqs.map((_, i) => `/p${i}`),
    );
    assert.equal(report((rs[1] as { body: string }).body).body.bytes, 5);
    assert.equal(report((rs[2] as { body: string }).body).body.bytes, 5);
    for (const r of rs) assert.doesNotMatch(r.head, /connection: close/i);
  });

  it('a valid request pipelined ahead of a malformed one gets its response before the 400', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('GET /before-bad HTTP/1.1\r\nHost: reviews\r\nx-echo-delay-ms: 50\r\n\r\nGET / HTTP/1.1\r\nHost: reviews\r\nX A: b\r\n\r\n');
    await eventually(() => assert.ok(c.ended, 'closed after the 400'), 10_000);
    c.close();
    const rs = c.responses();
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 400],
    );
    assert.equal(report((rs[0] as { body: string }).body).path, '/before-bad');
    const rec = await mesh.waypointRecordFor('/before-bad');
    assert.equal(rec.responseCode, 200);
    assert.ok(!rec.responseFlags?.includes('DC'), `flags ${String(rec.responseFlags)}`);
  });

  it('answers 100 Continue before reading a body that asks for it', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('POST /continue HTTP/1.1\r\nHost: reviews\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    await eventually(() => assert.match(c.text, /^HTTP\/1\.1 100 Continue\r\n\r\n/), 10_000);
    c.socket.write('body');
    const rs = await c.waitFor(2);
    c.close();
    assert.equal(rs[1]?.status, 200);
    assert.equal(report((rs[1] as { body: string }).body).body.bytes, 4);
  });

  it('an HTTP/1.0 client gets its answer and the connection closes after it', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('GET /ten HTTP/1.0\r\nHost: reviews\r\n\r\n');
    await eventually(() => assert.ok(c.ended), 10_000);
    c.close();
    assert.match(c.text, /^HTTP\/1\.1 200 /);
    assert.match(c.text, /\r\nconnection: close\r\n/i);
  });
});
