/**
 * Who may talk HBONE: server identity pinning on the client, client certificates and trust
 * domains on the server, and the CONNECT-level answers (400/401) before any tunnel exists.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneConnect } from '../../src/hbone/types.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { allocateBlock } from '../helpers/addresses.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const podA = block.pod(1);
const podDeny = block.pod(2);
const podNoIdentity = block.pod(3);

interface RawResult {
  status?: number;
  error?: string;
}

/** A hand-rolled HTTP/2 client, to send what our pool never would. */
function rawRequest(opts: { host: string; cert?: TlsMaterial; roots: string[]; alpn?: string[]; headers: OutgoingHttpHeaders }): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: opts.host,
      port: 15008,
      ca: opts.roots,
      ...(opts.cert ? { cert: opts.cert.certChainPem, key: opts.cert.keyPem } : {}),
      ALPNProtocols: opts.alpn ?? ['h2'],
      checkServerIdentity: () => undefined,
    });
    let done = false;
    const finish = (r: RawResult): void => {
      if (done) return;
      done = true;
      session.destroy();
      socket.destroy();
      resolve(r);
    };
    socket.on('error', (e: Error) => finish({ error: e.message }));
    const session = http2.connect(`https://${opts.host}:15008`, { createConnection: () => socket });
    session.on('error', (e: Error) => finish({ error: e.message }));
    session.on('close', () => finish({ error: 'session closed' }));
    const req = session.request(opts.headers, { endStream: false });
    req.on('response', (h: IncomingHttpHeaders) => finish({ status: Number(h[':status']) }));
    req.on('error', (e: Error) => finish({ error: e.message }));
    req.on('close', () => finish({ error: `stream closed ${req.rstCode}` }));
  });
}

describe('hbone security', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let server: HboneServer;
  let pool: HbonePool;
  let client: TlsMaterial;
  const seen: HboneConnect[] = [];
  const idA = (): string => ca.id('ns-a', 'sa-a');

  before(async () => {
    [ca, otherCa] = await Promise.all([createTestCa(), createTestCa()]);
    const ids = new Map([
      [podA, ca.id('ns-a', 'sa-a')],
      [podDeny, ca.id('ns-a', 'deny')],
    ]);
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: (addr) => ids.get(addr),
      handler: (c) => {
        seen.push(c);
        if (c.connection.localAddress === podDeny) {
          c.reject('L4_POLICY_DENIED');
          return;
        }
        const s = c.accept();
        s.pipe(s);
      },
      onError: () => undefined,
    });
    await server.addListener(podA, 15008);
    await server.addListener(podDeny, 15008);
    await server.addListener(podNoIdentity, 15008);
    pool = new HbonePool({ trust: ca.certSource });
    client = await ca.issue(ca.id('client', 'client'));
  });

  after(async () => {
    await pool.close(100);
    await server.close(100);
    ca.close();
    otherCa.close();
  });

  const dial = (over: Partial<Parameters<HbonePool['dial']>[0]> = {}) =>
    pool.dial({ source: client, expectedIdentities: [idA()], address: podA, port: 15008, authority: `${podA}:80`, ...over });

  it('accepts the expected identity (control)', async () => {
    const r = await dial();
    assert.ok(r.ok, r.ok ? '' : r.message);
    r.stream.destroy();
  });

  it('refuses a server whose SAN is not expected, without sending a stream', async () => {
    const before = seen.length;
    const r = await dial({ expectedIdentities: [ca.id('ns-a', 'someone-else'), 'spiffe://cluster.local/ns/ns-a/sa/sa-a-prefix'] });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'UPSTREAM_IDENTITY_MISMATCH');
    assert.equal(seen.length, before);
  });

  it('the raw client with a valid certificate gets 200 (control for the raw refusals below)', async () => {
    const r = await rawRequest({ host: podA, cert: client, roots: ca.rootsPem, headers: { ':method': 'CONNECT', ':authority': `${podA}:80` } });
    assert.equal(r.status, 200);
  });

  it('a client without a certificate cannot open a stream', async () => {
    const before = seen.length;
    const r = await rawRequest({ host: podA, roots: ca.rootsPem, headers: { ':method': 'CONNECT', ':authority': `${podA}:80` } });
    assert.equal(r.status, undefined, `unexpected status ${r.status}`);
    assert.equal(seen.length, before);
  });

  it('refuses a client certificate from another CA', async () => {
    const before = seen.length;
    const stranger = await otherCa.issue(ca.id('client', 'stranger'));
    const r = await dial({ source: stranger });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
    assert.equal(!r.ok && r.status, undefined);
    assert.equal(seen.length, before);
    const raw = await rawRequest({ host: podA, cert: stranger, roots: ca.rootsPem, headers: { ':method': 'CONNECT', ':authority': `${podA}:80` } });
    assert.equal(raw.status, undefined);
    assert.equal(seen.length, before);
  });

  it('refuses a server certificate from another CA', async () => {
    const distrustful = new HbonePool({ trust: otherCa.certSource });
    try {
      const r = await distrustful.dial({ source: await otherCa.issue(otherCa.id('c', 'c')), expectedIdentities: [idA()], address: podA, port: 15008, authority: `${podA}:80` });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
    } finally {
      await distrustful.close(10);
    }
  });

  it('refuses a client certificate from another trust domain (same CA)', async () => {
    const before = seen.length;
    const foreign = await ca.issue('spiffe://other.domain/ns/client/sa/client');
    const r = await dial({ source: foreign });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
    assert.equal(seen.length, before);
  });

  it('refuses a client that does not negotiate h2', async () => {
    const r = await rawRequest({ host: podA, cert: client, roots: ca.rootsPem, alpn: ['http/1.1'], headers: { ':method': 'CONNECT', ':authority': `${podA}:80` } });
    assert.equal(r.status, undefined);
  });

  it('drops connections to an address with no identity', async () => {
    const r = await dial({ address: podNoIdentity });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
  });

  it('answers 400 to a method other than CONNECT', async () => {
    const before = seen.length;
    const r = await rawRequest({ host: podA, cert: client, roots: ca.rootsPem, headers: { ':method': 'GET', ':path': '/', ':authority': `${podA}:80` } });
    assert.equal(r.status, 400);
    assert.equal(seen.length, before);
  });

  for (const bad of ['no-port', `${podA}:0`, `${podA}:70000`, 'fe80::1:80', 'a..b:80', `${podA}:8x`]) {
    it(`answers 400 to CONNECT with authority ${JSON.stringify(bad)}`, async () => {
      const before = seen.length;
      const r = await dial({ authority: bad });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.status, 400);
      assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
      assert.equal(seen.length, before);
    });
  }

  it('drops a connection that never completes the TLS handshake', async () => {
    const host = block.pod(40);
    const slow = new HboneServer({ certSource: ca.certSource, identityFor: () => idA(), handler: () => undefined, handshakeTimeoutMs: 100 });
    try {
      await slow.addListener(host, 15008);
      const sock = net.connect({ host, port: 15008 });
      sock.on('error', () => undefined);
      const t0 = Date.now();
      await new Promise<void>((resolve) => sock.once('close', () => resolve()));
      assert.ok(Date.now() - t0 < 5_000);
      assert.equal(slow.stats().refused, 1);
    } finally {
      await slow.close(10);
    }
  });

  it("reject('L4_POLICY_DENIED') reaches the dialer as 401", async () => {
    const r = await dial({ address: podDeny, expectedIdentities: [ca.id('ns-a', 'deny')] });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, 401);
    assert.equal(!r.ok && r.code, 'UPSTREAM_CONNECT_FAILED');
  });
});
