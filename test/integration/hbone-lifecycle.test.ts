/**
 * Lifecycle: certificate rotation under open streams, graceful and forced server close, and the
 * keepalive dropping a connection whose peer went silent.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import { serialOf } from '../../src/identity/local-ca.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { allocateBlock } from '../helpers/addresses.js';
import { mustTunnel as must, roundTrip } from '../helpers/hbone-tunnel.js';
import { eventually } from '../helpers/eventually.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();

/** The serial of the certificate the server presents on a new connection to `host:15008`. */
function servedSerial(host: string, client: TlsMaterial, roots: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port: 15008, cert: client.certChainPem, key: client.keyPem, ca: roots, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
    s.once('secureConnect', () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.once('error', reject);
  });
}

function settled<T>(p: Promise<T>): { done: () => boolean } {
  let done = false;
  void p.finally(() => (done = true));
  return { done: () => done };
}

describe('hbone lifecycle', () => {
  let ca: TestCa;
  let client: TlsMaterial;
  const idOf = (n: number): string => ca.id('srv', `srv-${n}`);

  before(async () => {
    ca = await createTestCa();
    client = await ca.issue(ca.id('c', 'c'));
  });
  after(() => ca.close());

  function echoServer(n: number): HboneServer {
    return new HboneServer({
      certSource: ca.certSource,
      identityFor: (a) => (a === block.pod(n) ? idOf(n) : undefined),
      handler: (c) => {
        const s = c.accept();
        s.pipe(s);
      },
    });
  }

  it('rotation: open streams keep working, new connections get the new certificate', async () => {
    const server = echoServer(1);
    const pool = new HbonePool({ trust: ca.certSource });
    const host = block.pod(1);
    try {
      await server.addListener(host, 15008);
      const s = must(await pool.dial({ source: client, expectedIdentities: [idOf(1)], address: host, port: 15008, authority: `${host}:1` }));
      const oldSerial = serialOf((await ca.certSource.certificate(idOf(1))).certChainPem);
      assert.equal(await servedSerial(host, client, ca.rootsPem), oldSerial);
      const rotated = await ca.certSource.rotateNow(idOf(1));
      const newSerial = serialOf(rotated.certChainPem);
      assert.notEqual(newSerial, oldSerial);
      assert.equal(await roundTrip(s, 'still here'), 'still here');
      assert.equal(await servedSerial(host, client, ca.rootsPem), newSerial);
      // A new HBONE connection (fresh pool) verifies and works with the new certificate.
      const fresh = new HbonePool({ trust: ca.certSource });
      try {
        const s2 = must(await fresh.dial({ source: client, expectedIdentities: [idOf(1)], address: host, port: 15008, authority: `${host}:1` }));
        assert.equal(await roundTrip(s2, 'new conn'), 'new conn');
        s2.destroy();
      } finally {
        await fresh.close(100);
      }
      assert.equal(await roundTrip(s, 'and again'), 'and again');
      s.end();
    } finally {
      await pool.close(100);
      await server.close(100);
    }
  });

  it('close(deadline): the in-flight stream finishes, new dials fail, close resolves when drained', async () => {
    const server = echoServer(2);
    const pool = new HbonePool({ trust: ca.certSource });
    const host = block.pod(2);
    try {
      await server.addListener(host, 15008);
      const s = must(await pool.dial({ source: client, expectedIdentities: [idOf(2)], address: host, port: 15008, authority: `${host}:1` }));
      assert.equal(await roundTrip(s, 'one'), 'one');
      const closing = server.close(10_000);
      const state = settled(closing);
      assert.equal(await roundTrip(s, 'two'), 'two');
      const r = await pool.dial({ source: client, expectedIdentities: [idOf(2)], address: host, port: 15008, authority: `${host}:1` });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
      assert.equal(state.done(), false);
      const ended = new Promise<void>((resolve) => s.once('end', resolve));
      s.resume();
      s.end();
      await ended;
      const t0 = Date.now();
      await closing;
      assert.ok(Date.now() - t0 < 5_000, 'close waited for the deadline although drained');
      assert.equal(server.stats().connections, 0);
    } finally {
      await pool.close(100);
      await server.close(10);
    }
  });

  it('after a GOAWAY the pool opens new streams elsewhere while the old stream carries on', async () => {
    const host = block.pod(5);
    const oldServer = echoServer(5);
    const newServer = echoServer(5);
    const pool = new HbonePool({ trust: ca.certSource });
    const dial = () => pool.dial({ source: client, expectedIdentities: [idOf(5)], address: host, port: 15008, authority: `${host}:1` });
    try {
      await oldServer.addListener(host, 15008);
      const s = must(await dial());
      // GOAWAY and listener released; the next dial may race the GOAWAY (refused, then retried).
      const closing = oldServer.close(10_000);
      await newServer.addListener(host, 15008);
      const s2 = must(await dial());
      assert.equal(newServer.stats().connectionsTotal, 1);
      assert.equal(pool.stats().connections, 2);
      assert.equal(await roundTrip(s, 'old'), 'old');
      assert.equal(await roundTrip(s2, 'new'), 'new');
      s.resume();
      s.end();
      await closing;
      await eventually(() => assert.equal(pool.stats().connections, 1));
      s2.destroy();
    } finally {
      await pool.close(100);
      await oldServer.close(10);
      await newServer.close(10);
    }
  });

  it('close(deadline): a stream still open at the deadline is cut', async () => {
    const server = echoServer(3);
    const pool = new HbonePool({ trust: ca.certSource });
    const host = block.pod(3);
    try {
      await server.addListener(host, 15008);
      const s = must(await pool.dial({ source: client, expectedIdentities: [idOf(3)], address: host, port: 15008, authority: `${host}:1` }));
      // Deliberately no 'error' listener here: a reset must not become an uncaught exception.
      const closed = new Promise<boolean>((resolve) => s.once('close', () => resolve(s.readableEnded)));
      const t0 = Date.now();
      await server.close(200);
      assert.ok(Date.now() - t0 >= 150);
      assert.equal(await closed, false, 'a forced close must not look like a clean end');
      await eventually(() => assert.equal(pool.stats().connections, 0));
    } finally {
      await pool.close(100);
    }
  });

  it('keepalive: a connection whose peer stops answering PINGs is dropped', async () => {
    const server = echoServer(4);
    const host = block.pod(4);
    await server.addListener(host, 15008);
    // A TCP relay that can go silent: it keeps both sockets open but stops forwarding.
    let frozen = false;
    const relaySockets: net.Socket[] = [];
    const relay = net.createServer((down) => {
      const up = net.connect({ host, port: 15008 });
      relaySockets.push(down, up);
      down.on('data', (d) => !frozen && up.write(d));
      up.on('data', (d) => !frozen && down.write(d));
      down.on('error', () => undefined);
      up.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, block.node(4), r));
    const relayPort = (relay.address() as net.AddressInfo).port;
    const pool = new HbonePool({ trust: ca.certSource, keepalive: { intervalMs: 50, timeoutMs: 200 } });
    try {
      const s = must(await pool.dial({ source: client, expectedIdentities: [idOf(4)], address: block.node(4), port: relayPort, authority: `${host}:1` }));
      s.on('error', () => undefined);
      assert.equal(await roundTrip(s, 'alive'), 'alive');
      // Several PING intervals pass with the relay working: the connection stays.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(pool.stats().connections, 1);
      frozen = true;
      const t0 = Date.now();
      await eventually(() => assert.equal(pool.stats().connections, 0), 3000);
      assert.ok(s.destroyed);
      assert.ok(Date.now() - t0 >= 150, 'dropped before the PING timeout');
    } finally {
      await pool.close(10);
      for (const x of relaySockets) x.destroy();
      relay.close();
      await server.close(10);
    }
  });
});
