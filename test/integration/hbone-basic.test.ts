/**
 * HBONE end to end over real TLS 1.3 + HTTP/2 on loopback: bytes both ways, identities seen by
 * each side, certificate chosen by the local address, half-close, bulk transfer, headers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneConnect } from '../../src/hbone/types.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { allocateBlock } from '../helpers/addresses.js';
import { mustTunnel as must } from '../helpers/hbone-tunnel.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const podA = block.pod(1);
const podB = block.pod(2);
const clientIp = block.pod(3);

function readAll(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

describe('hbone basic', () => {
  let ca: TestCa;
  let server: HboneServer;
  let pool: HbonePool;
  let client: TlsMaterial;
  const seen: HboneConnect[] = [];
  let mode: 'echo' | 'late-reply' | 'sink' = 'echo';

  before(async () => {
    ca = await createTestCa();
    const ids = new Map([
      [podA, ca.id('ns-a', 'sa-a')],
      [podB, ca.id('ns-b', 'sa-b')],
    ]);
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: (addr) => ids.get(addr),
      handler: (c) => {
        seen.push(c);
        const s = c.accept({ 'x-served-by': c.connection.localAddress });
        switch (mode) {
          case 'echo':
            s.pipe(s);
            return;
          case 'late-reply': {
            // Reply only after the client's END_STREAM: total length, then a 1 MiB tail.
            let n = 0;
            s.on('data', (d: Buffer) => (n += d.length));
            s.on('end', () => {
              s.write(`got ${n}\n`);
              s.end(Buffer.alloc(1024 * 1024, 7));
            });
            return;
          }
          case 'sink': {
            const h = createHash('sha256');
            s.on('data', (d: Buffer) => h.update(d));
            s.on('end', () => s.end(h.digest('hex')));
            return;
          }
        }
      },
    });
    await server.addListener(podA, 15008);
    await server.addListener(podB, 15008);
    pool = new HbonePool({ trust: ca.certSource });
    client = await ca.issue(ca.id('client-ns', 'client-sa'));
  });

  after(async () => {
    await pool.close(100);
    await server.close(100);
    ca.close();
  });

  it('echoes bytes both ways; each side sees the other identity; cert chosen by local address', async () => {
    mode = 'echo';
    for (const [addr, id] of [
      [podA, ca.id('ns-a', 'sa-a')],
      [podB, ca.id('ns-b', 'sa-b')],
    ] as const) {
      const before = seen.length;
      const r = await pool.dial({
        source: client,
        expectedIdentities: [id],
        address: addr,
        port: 15008,
        localAddress: clientIp,
        authority: `${addr}:8080`,
        headers: { baggage: 'k8s.namespace.name=client-ns' },
      });
      const s = must(r);
      assert.ok(r.ok);
      assert.equal(r.responseHeaders['x-served-by'], addr);
      const payload = randomBytes(100_000);
      const got = readAll(s);
      s.end(payload);
      assert.deepEqual(await got, payload);
      const c = seen[before];
      assert.ok(c);
      assert.equal(c.connection.peerIdentity, ca.id('client-ns', 'client-sa'));
      assert.equal(c.connection.peerAddress, clientIp);
      assert.equal(c.connection.localAddress, addr);
      assert.equal(c.authority.host, addr);
      assert.equal(c.authority.port, 8080);
      assert.equal(c.headers['baggage'], 'k8s.namespace.name=client-ns');
    }
  });

  it('each address presents only its own identity', async () => {
    const r = await pool.dial({ source: client, expectedIdentities: [ca.id('ns-a', 'sa-a')], address: podB, port: 15008, authority: `${podB}:8080` });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'UPSTREAM_IDENTITY_MISMATCH');
  });

  it('half-close: the server replies after the client ended its side; all of it arrives', async () => {
    mode = 'late-reply';
    const s = must(
      await pool.dial({ source: client, expectedIdentities: [ca.id('ns-a', 'sa-a')], address: podA, port: 15008, authority: `${podA}:1` }),
    );
    const got = readAll(s);
    s.write(Buffer.alloc(5000, 1));
    s.end(Buffer.alloc(5000, 2));
    const all = await got;
    const head = `got 10000\n`;
    assert.equal(all.subarray(0, head.length).toString(), head);
    assert.equal(all.length, head.length + 1024 * 1024);
    assert.ok(all.subarray(head.length).every((b) => b === 7));
  });

  it('carries 32 MiB each way intact in one stream', { timeout: 60_000 }, async () => {
    mode = 'echo';
    const s = must(
      await pool.dial({ source: client, expectedIdentities: [ca.id('ns-b', 'sa-b')], address: podB, port: 15008, authority: `${podB}:2` }),
    );
    const total = 32 * 1024 * 1024;
    const sent = createHash('sha256');
    const recv = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        received += d.length;
        recv.update(d);
      });
      s.once('end', resolve);
      s.once('error', reject);
    });
    const chunk = 256 * 1024;
    for (let off = 0; off < total; off += chunk) {
      const b = randomBytes(chunk);
      sent.update(b);
      if (!s.write(b)) await new Promise((r) => s.once('drain', r));
    }
    s.end();
    await done;
    assert.equal(received, total);
    assert.equal(recv.digest('hex'), sent.digest('hex'));
  });
});
