/**
 * The Istio CA client against a fake CA over real gRPC + TLS: CSR with the SPIFFE URI SAN, the
 * service-account token as a bearer token, a chain that verifies against the root, rotation at
 * half life (listeners hear about it), and a clear error for a rejected token.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { IstioCaClient } from '../../src/identity/ca-client.js';
import { LocalCaCertSource } from '../../src/identity/local-ca-cert-source.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { eventually } from '../helpers/eventually.js';
import { FakeCa } from '../helpers/fake-ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

describe('Istio CA client', () => {
  let ca: FakeCa;
  before(async () => {
    ca = await FakeCa.start('sa-token-1');
  });
  after(() => ca?.close());

  it('gets a certificate for the identity, authenticated by the token, verifying against the root', async () => {
    const client = new IstioCaClient({ address: ca.address, rootCertPem: ca.rootPem, token: () => 'sa-token-1' });
    try {
      const m = await client.issue(ID, { validityMs: 3_600_000 });
      const leaf = new X509Certificate(m.certChainPem);
      assert.equal(leaf.subjectAltName, `URI:${ID}`);
      assert.ok(leaf.verify(new X509Certificate(ca.rootPem).publicKey), 'signed by the CA root');
      assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(m.keyPem)), 'the key matches');
      assert.deepEqual(ca.requests.at(-1), { token: 'sa-token-1', identity: ID, validitySeconds: 3600 });
      // Usable for mTLS as is.
      tls.createSecureContext({ cert: m.certChainPem, key: m.keyPem, ca: ca.rootPem });
    } finally {
      client.close();
    }
  });

  it('says clearly when the CA refuses the token', async () => {
    const client = new IstioCaClient({ address: ca.address, rootCertPem: ca.rootPem, token: () => 'wrong' });
    try {
      await assert.rejects(client.issue(ID), /CreateCertificate at 127\.0\.0\.1:\d+: 16 UNAUTHENTICATED: bad token/);
    } finally {
      client.close();
    }
  });

  it('rotates at half life and tells listeners', async () => {
    const client = new IstioCaClient({ address: ca.address, rootCertPem: ca.rootPem, token: () => 'sa-token-1' });
    const source = new LocalCaCertSource(client, { trustDomain: 'cluster.local', validityMs: 8000, refreshFraction: 0.5 });
    try {
      const first = await source.certificate(ID);
      const rotated: TlsMaterial[] = [];
      let rotatedAt = 0;
      source.onRotate((m) => {
        rotated.push(m);
        rotatedAt ||= Date.now();
      });
      const t0 = Date.now();
      await eventually(() => rotated.length > 0, 10_000);
      // Renewed around half of an 8 s lifetime: not early, and in place before the old one expires.
      assert.ok(rotatedAt - t0 > 2000, `rotated after ${rotatedAt - t0} ms`);
      assert.ok(rotatedAt < first.notAfter.getTime(), 'the new certificate was there before the old one expired');
      assert.notEqual(new X509Certificate(rotated[0]!.certChainPem).serialNumber, new X509Certificate(first.certChainPem).serialNumber);
      assert.equal((await source.certificate(ID)).certChainPem, rotated[0]!.certChainPem);
    } finally {
      source.close();
      client.close();
    }
  });
});
