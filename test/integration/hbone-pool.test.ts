/**
 * Connection pooling: streams share a connection up to 100, the 101st opens another, keys keep
 * sources apart, idle connections are released, and removing a listener spares open connections.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneDial, HboneDialResult } from '../../src/hbone/types.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { allocateBlock } from '../helpers/addresses.js';
import { mustTunnel as must, roundTrip } from '../helpers/hbone-tunnel.js';
import { eventually } from '../helpers/eventually.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const pod = block.pod(1);
const podGone = block.pod(2);

function closeAll(streams: Duplex[]): Promise<void> {
  return Promise.all(
    streams.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.resume();
          s.end();
        }),
    ),
  ).then(() => undefined);
}

describe('hbone pool', () => {
  let ca: TestCa;
  let server: HboneServer;
  let client: TlsMaterial;
  let other: TlsMaterial;
  const id = (): string => ca.id('srv', 'srv');

  before(async () => {
    ca = await createTestCa();
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: (a) => (a === pod || a === podGone ? id() : undefined),
      handler: (c) => {
        const s = c.accept();
        s.pipe(s);
      },
    });
    await server.addListener(pod, 15008);
    await server.addListener(podGone, 15008);
    client = await ca.issue(ca.id('c', 'one'));
    other = await ca.issue(ca.id('c', 'two'));
  });

  after(async () => {
    await server.close(100);
    ca.close();
  });

  const dialTo = (pool: HbonePool, over: Partial<HboneDial> = {}): Promise<HboneDialResult> =>
    pool.dial({ source: client, expectedIdentities: [id()], address: pod, port: 15008, authority: `${pod}:9`, ...over });

  it('100 concurrent streams share one connection; the 101st opens a second', async () => {
    const pool = new HbonePool({ trust: ca.certSource });
    const base = server.stats().connectionsTotal;
    try {
      const first = await Promise.all(Array.from({ length: 100 }, () => dialTo(pool)));
      const streams = first.map(must);
      assert.equal(server.stats().connectionsTotal - base, 1);
      assert.equal(server.stats().streams, 100);
      assert.deepEqual(pool.stats(), { connections: 1, streams: 100 });
      const extra = must(await dialTo(pool));
      assert.equal(server.stats().connectionsTotal - base, 2);
      assert.deepEqual(pool.stats(), { connections: 2, streams: 101 });
      // Every stream is a working tunnel of its own.
      const echoes = await Promise.all([...streams, extra].map((s, i) => roundTrip(s, `stream ${i};`)));
      echoes.forEach((e, i) => assert.equal(e, `stream ${i};`));
      await closeAll([...streams, extra]);
      await eventually(() => assert.equal(pool.stats().streams, 0));
      // Freed capacity is reused: no third connection.
      const again = must(await dialTo(pool));
      assert.equal(server.stats().connectionsTotal - base, 2);
      await closeAll([again]);
    } finally {
      await pool.close(100);
    }
  });

  it('reuses a connection for sequential dials, but not across source identities or local addresses', async () => {
    const pool = new HbonePool({ trust: ca.certSource });
    const base = server.stats().connectionsTotal;
    try {
      for (let i = 0; i < 3; i++) await closeAll([must(await dialTo(pool))]);
      assert.equal(server.stats().connectionsTotal - base, 1);
      await closeAll([must(await dialTo(pool, { source: other }))]);
      assert.equal(server.stats().connectionsTotal - base, 2);
      await closeAll([must(await dialTo(pool, { localAddress: block.pod(50) }))]);
      assert.equal(server.stats().connectionsTotal - base, 3);
      // Same set of expected identities in another order: same connection.
      await closeAll([must(await dialTo(pool, { expectedIdentities: [ca.id('x', 'y'), id()] }))]);
      await closeAll([must(await dialTo(pool, { expectedIdentities: [id(), ca.id('x', 'y')] }))]);
      assert.equal(server.stats().connectionsTotal - base, 4);
    } finally {
      await pool.close(100);
    }
  });

  it('releases connections idle for the idle timeout', async () => {
    const pool = new HbonePool({ trust: ca.certSource, idleTimeoutMs: 50 });
    try {
      const s = must(await dialTo(pool));
      assert.equal(pool.stats().connections, 1);
      await closeAll([s]);
      await eventually(() => assert.equal(pool.stats().connections, 0));
      await eventually(() => assert.equal(server.stats().connections, 0));
    } finally {
      await pool.close(100);
    }
  });

  it('removeListener stops new connections there but open ones keep working', async () => {
    const pool = new HbonePool({ trust: ca.certSource });
    const fresh = new HbonePool({ trust: ca.certSource });
    try {
      const s = must(await dialTo(pool, { address: podGone }));
      assert.equal(await roundTrip(s, 'before'), 'before');
      await server.removeListener(podGone, 15008);
      assert.equal(await roundTrip(s, 'after'), 'after');
      // A new stream on the existing connection still works...
      const s2 = must(await dialTo(pool, { address: podGone }));
      assert.equal(await roundTrip(s2, 'second'), 'second');
      // ...but a new connection is refused.
      const r = await dialTo(fresh, { address: podGone });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
      await closeAll([s, s2]);
      // And it can come back.
      await server.addListener(podGone, 15008);
      await closeAll([must(await dialTo(fresh, { address: podGone }))]);
    } finally {
      await pool.close(100);
      await fresh.close(100);
    }
  });

  it("respects a server's lower SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
    const host = block.pod(20);
    const small = new HboneServer({
      certSource: ca.certSource,
      identityFor: () => id(),
      maxConcurrentStreams: 5,
      handler: (c) => {
        const s = c.accept();
        s.pipe(s);
      },
    });
    const pool = new HbonePool({ trust: ca.certSource });
    try {
      await small.addListener(host, 15008);
      // The first stream settles the connection (the server's SETTINGS are known after it).
      const first = must(await dialTo(pool, { address: host }));
      const more = (await Promise.all(Array.from({ length: 5 }, () => dialTo(pool, { address: host })))).map(must);
      assert.equal(small.stats().connectionsTotal, 2);
      assert.deepEqual(pool.stats(), { connections: 2, streams: 6 });
      await closeAll([first, ...more]);
    } finally {
      await pool.close(100);
      await small.close(100);
    }
  });

  it('a TCP failure is UPSTREAM_CONNECT_FAILED and leaves nothing pooled', async () => {
    const pool = new HbonePool({ trust: ca.certSource });
    try {
      const r = await dialTo(pool, { address: block.pod(99) });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
      assert.deepEqual(pool.stats(), { connections: 0, streams: 0 });
    } finally {
      await pool.close(100);
    }
  });
});
