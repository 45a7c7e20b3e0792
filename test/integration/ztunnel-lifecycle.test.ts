/**
 * Listeners follow the view (pods added and removed) without disturbing open connections, and
 * close(deadline) drains: no new connections, open ones finish, stragglers forced at the deadline.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { meshView, service, workload } from '../helpers/mesh-builders.js';
import type { SnapshotSpec } from '../helpers/mesh-builders.js';
import type { TestApp, ZtunnelMesh } from './ztunnel-harness.js';
import { exchange, readAll, startApp, startMesh } from './ztunnel-harness.js';

const block = allocateBlock();
const client = workload({ name: 'client', ip: block.pod(1), node: 'node-a' });
const server = workload({ name: 'server', ip: block.pod(2), node: 'node-b' });
const newbie = workload({ name: 'newbie', ip: block.pod(3), node: 'node-a' });
const newServer = workload({ name: 'new-server', ip: block.pod(4), node: 'node-b' });
const services = [service({ name: 'server', vips: [block.vip(1)], ports: [{ port: 80, targetPort: 9080 }] })];
const spec = (workloads: SnapshotSpec['workloads'], generation: number): SnapshotSpec => ({ workloads, services, generation });

/** Resolves with the error code of a plain TCP connect (undefined when it connected). */
async function tcpConnectError(host: string, port: number): Promise<string | undefined> {
  const s = net.connect({ host, port });
  try {
    await once(s, 'connect');
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  } finally {
    s.destroy();
  }
}

/** Writes `text` and waits for the same bytes to come back (echo), without ending. */
async function ping(s: net.Socket, text: string): Promise<void> {
  let got = '';
  const onData = (c: Buffer): void => {
    got += c.toString();
  };
  s.on('data', onData);
  s.write(text);
  try {
    await eventually(() => got === text, 3000);
  } finally {
    s.off('data', onData);
  }
}

describe('ztunnel lifecycle', () => {
  let mesh: ZtunnelMesh;
  const apps: TestApp[] = [];
  let longLived: net.Socket;

  before(async () => {
    apps.push(await startApp(server.ip, 9080, 'echo'));
    apps.push(await startApp(newServer.ip, 9080, 'echo'));
    mesh = await startMesh(meshView(spec([client, server], 1)), ['node-a', 'node-b']);
    longLived = await mesh.socks(client, 'server', 80);
    await ping(longLived, 'first');
  });

  after(async () => {
    longLived?.destroy();
    await mesh?.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('opens listeners for pods added to the view; they carry traffic both ways', async () => {
    assert.equal(await tcpConnectError(newbie.ip, 15080), 'ECONNREFUSED', 'not listening before the pod exists');
    mesh.view.set(meshView(spec([client, server, newbie, newServer], 2)));
    const za = mesh.ztunnels.get('node-a');
    const zb = mesh.ztunnels.get('node-b');
    assert.ok(za && zb);
    await za.settled();
    await zb.settled();
    assert.ok(za.listening().socks.includes(`${newbie.ip}:15080`));
    assert.ok(zb.listening().hbone.includes(`${newServer.ip}:15008`));
    const s = await mesh.socks(newbie, 'server', 80);
    assert.equal((await exchange(s, 'from the new pod')).toString(), 'from the new pod');
    assert.equal(apps[0]?.connections.at(-1)?.peerAddress, newbie.ip);
    const s2 = await mesh.socks(client, newServer.ip, 9080);
    assert.equal((await exchange(s2, 'to the new pod')).toString(), 'to the new pod');
    assert.equal(apps[1]?.connections.at(-1)?.peerAddress, client.ip);
    await ping(longLived, 'still here');
  });

  it('closes the listeners of removed pods; other connections carry on', async () => {
    mesh.view.set(meshView(spec([client, server], 3)));
    await mesh.ztunnels.get('node-a')?.settled();
    await mesh.ztunnels.get('node-b')?.settled();
    assert.equal(await tcpConnectError(newbie.ip, 15080), 'ECONNREFUSED');
    assert.equal(await tcpConnectError(newServer.ip, 15008), 'ECONNREFUSED');
    assert.deepEqual(mesh.ztunnels.get('node-a')?.listening().socks, [`${client.ip}:15080`]);
    await ping(longLived, 'unaffected');
  });

  it('close(deadline) stops accepting, lets open connections finish, and returns early when they do', async () => {
    const za = mesh.ztunnels.get('node-a');
    assert.ok(za);
    const t0 = Date.now();
    const closing = za.close(5000);
    await eventually(async () => (await tcpConnectError(client.ip, 15080)) === 'ECONNREFUSED');
    await ping(longLived, 'during drain');
    const reply = await exchange(longLived, 'bye');
    assert.equal(reply.toString(), 'bye');
    await closing;
    assert.ok(Date.now() - t0 < 4000, `drained early (${Date.now() - t0} ms)`);
  });

  it('close(deadline) forces connections still open at the deadline', async () => {
    const zb = mesh.ztunnels.get('node-b');
    assert.ok(zb);
    // node-a is closed: go through node-b's own SOCKS5 port (server → its own service).
    const s = await mesh.socks(server, 'server', 80);
    await ping(s, 'open');
    const ended = readAll(s);
    const t0 = Date.now();
    await zb.close(300);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `waited for the deadline (${elapsed} ms)`);
    assert.ok(elapsed < 3000, `then forced (${elapsed} ms)`);
    const r = await ended;
    assert.match(String(r.error?.message), /ECONNRESET/, 'the client sees an abort, not a clean end');
  });
});
