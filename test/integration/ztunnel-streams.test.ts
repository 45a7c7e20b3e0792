/**
 * Byte-stream properties through SOCKS5 → ztunnel → HBONE → ztunnel → app: bulk integrity both
 * ways at once, half-close, early payload, and robustness to garbage on the listeners.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { meshView, service, workload } from '../helpers/mesh-builders.js';
import type { TestApp, ZtunnelMesh } from './ztunnel-harness.js';
import { exchange, readAll, startApp, startMesh, writeBulk } from './ztunnel-harness.js';

const MiB = 1024 * 1024;
const block = allocateBlock();
const client = workload({ name: 'client', ip: block.pod(1), node: 'node-a' });
const server = workload({ name: 'server', ip: block.pod(2), node: 'node-b' });
const view = meshView({
  workloads: [client, server],
  services: [service({ name: 'server', vips: [block.vip(1)], ports: [{ port: 80, targetPort: 9080 }, { port: 81, targetPort: 9081 }, { port: 82, targetPort: 9082 }] })],
});

describe('ztunnel streams', () => {
  let mesh: ZtunnelMesh;
  const apps: TestApp[] = [];

  before(async () => {
    apps.push(await startApp(server.ip, 9080, 'echo'));
    apps.push(await startApp(server.ip, 9081, 'after-end'));
    apps.push(await startApp(server.ip, 9082, { bulk: 32 * MiB }));
    mesh = await startMesh(view, ['node-a', 'node-b']);
  });

  after(async () => {
    await mesh?.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('carries 32 MiB each way at the same time, byte-exact (sha256)', async () => {
    const app = apps[2];
    assert.ok(app);
    const s = await mesh.socks(client, 'server', 82);
    const reading = readAll(s);
    const sentSha = await writeBulk(s, 32 * MiB);
    const got = await reading;
    assert.equal(got.error, undefined);
    assert.equal(got.data.length, 32 * MiB);
    const conn = await eventually(() => {
      const c = app.connections[0];
      assert.ok(c?.received && c.sentSha256);
      return c;
    }, 20_000);
    assert.equal(conn.received?.bytes, 32 * MiB);
    assert.equal(conn.received?.sha256, sentSha, 'app received exactly what the client sent');
    assert.equal(got.sha256, conn.sentSha256, 'client received exactly what the app sent');
    const rec = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'outbound' && x.bytesSent === 32 * MiB);
      assert.ok(r);
      return r;
    });
    assert.equal(rec.bytesRecv, 32 * MiB);
  });

  it('half-close: the client ends its side and still gets the whole reply', async () => {
    const payload = randomBytes(300 * 1024);
    const s = await mesh.socks(client, 'server', 81);
    const reply = (await exchange(s, payload)).toString();
    const [bytes, sha] = reply.split(':');
    assert.equal(Number(bytes), payload.length);
    assert.equal(sha, createHash('sha256').update(payload).digest('hex'));
  });

  it('bytes sent right behind the CONNECT request (before the reply) are not lost', async () => {
    const raw = net.connect({ host: client.ip, port: 15080, localAddress: client.ip, allowHalfOpen: true });
    await once(raw, 'connect');
    const name = Buffer.from('server');
    const done = readAll(raw);
    raw.end(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, Buffer.from([0, 80]), Buffer.from('early bird')]));
    const got = await done;
    assert.equal(got.error, undefined);
    assert.deepEqual([...got.data.subarray(0, 2)], [5, 0], 'method: no auth');
    assert.equal(got.data[3], 0x00, 'CONNECT succeeded');
    assert.equal(got.data.subarray(12).toString(), 'early bird');
  });

  it('garbage on the SOCKS5 and HBONE ports breaks nothing', async () => {
    const junk = async (port: number, payload: Buffer): Promise<void> => {
      const s = net.connect({ host: server.ip, port });
      s.on('error', () => undefined);
      await once(s, 'connect');
      s.resume(); // read whatever error reply comes, so the close is seen
      s.write(payload);
      await once(s, 'close');
    };
    await junk(15080, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await junk(15080, Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80])); // BIND: reply 0x07, close
    await junk(15080, Buffer.from([5, 1, 0, 5, 1, 0, 0x42])); // bad address type: 0x08, close
    await junk(15080, randomBytes(4096).fill(5, 0, 1));
    await junk(15008, randomBytes(4096));
    await junk(15008, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    // A client that sends half a request and then resets.
    const half = net.connect({ host: server.ip, port: 15080 });
    half.on('error', () => undefined);
    await once(half, 'connect');
    half.write(Buffer.from([5, 1, 0, 5, 1]));
    half.resetAndDestroy();
    // Everything still works.
    const s = await mesh.socks(client, 'server', 80);
    assert.equal((await exchange(s, 'still alive')).toString(), 'still alive');
    const s2 = await mesh.socks(server, 'server', 80);
    assert.equal((await exchange(s2, 'node-b too')).toString(), 'node-b too');
    assert.deepEqual(mesh.errors, []);
  });

  it('a reset by the client resets the app side too (no clean end reaches the app)', async () => {
    const app = apps[0];
    assert.ok(app);
    const n0: number = app.connections.length;
    const s = await mesh.socks(client, 'server', 80);
    s.write('x');
    // Wait until the echo is back, so nothing is in flight towards the client when it resets: a
    // write racing the RST would consume the kernel's ECONNRESET and the next read would see EOF.
    await eventually(() => s.readableLength > 0);
    s.resetAndDestroy();
    const rec = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'inbound' && x.srcAddr.startsWith(client.ip) && x.error !== undefined);
      assert.ok(r);
      return r;
    });
    assert.match(rec.error ?? '', /abort|reset/i);
    const conn = await eventually(() => {
      const c = app.connections[n0];
      assert.ok(c?.closed);
      return c;
    });
    assert.equal(conn.received, undefined, 'the app never saw a clean end');
    assert.match(conn.error ?? '', /ECONNRESET/);
  });
});
