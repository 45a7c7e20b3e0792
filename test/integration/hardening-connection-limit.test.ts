/**
 * Connections per listener (issue 11 §2): an HBONE server with `maxConnections` keeps at most that
 * many downstream connections open across its addresses, counting connections still in the TLS
 * handshake (a client that connects and never handshakes holds a slot, as in Envoy, where the
 * limit counts accepted sockets). One more is closed on accept and counted in `overflow` (Envoy's
 * `downstream_cx_overflow`); a slot freed by a close is taken by the next client.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { mustTunnel, roundTrip } from '../helpers/hbone-tunnel.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const podA = block.pod(1);
const podB = block.pod(2);
const PORT = 15008;
const LIMIT = 2;

describe('hardening: connection limit on HBONE listeners', () => {
  let ca: TestCa;
  let server: HboneServer;
  let client: TlsMaterial;
  const pools: HbonePool[] = [];

  before(async () => {
    ca = await createTestCa();
    client = await ca.issue(ca.id('default', 'client'));
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: () => ca.id('default', 'server'),
      handler: (c) => {
        const s = c.accept();
        s.on('error', () => undefined);
        s.pipe(s);
      },
      maxConnections: LIMIT,
      onError: () => undefined,
    });
    await server.addListener(podA, PORT);
    await server.addListener(podB, PORT);
  });

  after(async () => {
    await Promise.all(pools.map((p) => p.close(100)));
    await server.close(100);
    ca.close();
  });

  /** A dial on its own pool, so each is its own HBONE connection. */
  async function dial(address: string): Promise<{ pool: HbonePool; ok: boolean; code?: string }> {
    const pool = new HbonePool({ trust: ca.certSource });
    pools.push(pool);
    const r = await pool.dial({ source: client, expectedIdentities: [ca.id('default', 'server')], address, port: PORT, authority: `${address}:80` });
    if (r.ok) {
      assert.equal(await roundTrip(mustTunnel(r), 'ping'), 'ping');
      return { pool, ok: true };
    }
    return { pool, ok: false, code: r.code };
  }

  it('serves up to the limit across addresses, closes the next on accept and counts it', async () => {
    const a = await dial(podA);
    const b = await dial(podB);
    assert.equal(a.ok && b.ok, true);
    assert.equal(server.stats().accepted, LIMIT);
    const c = await dial(podA);
    assert.equal(c.ok, false, 'the connection past the limit is refused');
    assert.equal(server.stats().overflow, 1);
    assert.equal(server.stats().connections, LIMIT, 'the open ones are untouched');
    // A freed slot is taken by the next client.
    await a.pool.close(100);
    await eventually(() => server.stats().accepted === LIMIT - 1, 5000);
    const d = await dial(podB);
    assert.equal(d.ok, true);
    await b.pool.close(100);
    await d.pool.close(100);
    await eventually(() => server.stats().accepted === 0, 5000);
  });

  it('connections that never finish TLS hold slots too (until the handshake timeout)', async () => {
    const overflowBefore = server.stats().overflow;
    const idle = await Promise.all(
      Array.from({ length: LIMIT }, () => {
        const s = net.connect(PORT, podA);
        s.on('error', () => undefined);
        return new Promise<net.Socket>((resolve) => s.once('connect', () => resolve(s)));
      }),
    );
    try {
      await eventually(() => server.stats().accepted === LIMIT, 5000);
      const r = await dial(podA);
      assert.equal(r.ok, false);
      assert.equal(server.stats().overflow, overflowBefore + 1);
    } finally {
      for (const s of idle) s.destroy();
    }
    await eventually(() => server.stats().accepted === 0, 5000);
    assert.equal((await dial(podA)).ok, true, 'served again once the idle sockets left');
  });

  it('the overflow count is exported as ambient_downstream_cx_overflow', async () => {
    const metrics = new ProxyMetrics();
    metrics.addHealth({
      downstreamConnections: () => server.stats().connections,
      downstreamStreams: () => server.stats().streams,
      upstreamPool: () => ({ connections: 0, streams: 0 }),
      configGeneration: () => 1,
      configErrors: () => 0,
      downstreamCxOverflow: () => server.stats().overflow,
    });
    const text = (await metrics.exposition()).body;
    assert.match(text, new RegExp(`^ambient_downstream_cx_overflow ${server.stats().overflow}$`, 'm'));
  });
});
