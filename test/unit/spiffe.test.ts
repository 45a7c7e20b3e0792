import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildSpiffeUri,
  parseSpiffeUri,
  peerIdentityInTrustDomain,
  spiffeIdsOfCertificate,
  trustDomainOf,
  uriSansOf,
} from '../../src/identity/spiffe.js';

describe('spiffe ids', () => {
  it('builds and parses the Istio form', () => {
    const uri = buildSpiffeUri('cluster.local', 'default', 'bookinfo-reviews');
    assert.equal(uri, 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews');
    assert.deepEqual(parseSpiffeUri(uri ?? ''), { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'bookinfo-reviews' });
    assert.equal(trustDomainOf('spiffe://td.example/ns/a/sa/b'), 'td.example');
    assert.equal(parseSpiffeUri('spiffe://td/ns/a/sa/sa.with.dots')?.serviceAccount, 'sa.with.dots');
  });

  it('rejects anything else', () => {
    for (const bad of [
      '',
      'spiffe://',
      'http://cluster.local/ns/a/sa/b',
      'SPIFFE://cluster.local/ns/a/sa/b',
      'spiffe://cluster.local/ns/a/sa/b/',
      'spiffe://cluster.local/ns/a/sa/b/extra',
      'spiffe://cluster.local/sa/b/ns/a',
      'spiffe://cluster.local/ns//sa/b',
      'spiffe://Cluster.Local/ns/a/sa/b',
      'spiffe://cluster.local:8080/ns/a/sa/b',
      'spiffe://cluster.local/ns/A/sa/b',
      'spiffe://cluster.local/ns/a/sa/b?x=1',
      'spiffe://cluster.local/ns/-a/sa/b',
      'spiffe://user@cluster.local/ns/a/sa/b',
    ]) {
      assert.equal(parseSpiffeUri(bad), undefined, bad);
    }
    assert.equal(buildSpiffeUri('cluster.local', 'Bad', 'x'), undefined);
    assert.equal(buildSpiffeUri('', 'a', 'b'), undefined);
    assert.equal(buildSpiffeUri('td', 'a', 'b/c'), undefined);
  });

  it('extracts URI SANs from Node subjectaltname strings, honouring quotes', () => {
    assert.deepEqual(uriSansOf('URI:spiffe://td/ns/a/sa/b'), ['spiffe://td/ns/a/sa/b']);
    assert.deepEqual(uriSansOf('DNS:foo.bar, URI:spiffe://td/ns/a/sa/b, IP Address:127.0.0.1, URI:spiffe://td/ns/c/sa/d'), [
      'spiffe://td/ns/a/sa/b',
      'spiffe://td/ns/c/sa/d',
    ]);
    // Node JSON-quotes values with special characters (CVE-2021-44532): the comma is part of the value.
    assert.deepEqual(uriSansOf('URI:"spiffe://td/ns/a/sa/b, URI:spiffe://evil/ns/x/sa/y", DNS:x'), ['spiffe://td/ns/a/sa/b, URI:spiffe://evil/ns/x/sa/y']);
    assert.deepEqual(uriSansOf('DNS:"a\\"b", URI:spiffe://td/ns/a/sa/b'), ['spiffe://td/ns/a/sa/b']);
    // Exactly what Node 20 prints for such a certificate (commas escaped as \u002c inside quotes).
    assert.deepEqual(uriSansOf('URI:"spiffe://td/ns/a/sa/b\\u002c URI:spiffe://evil/ns/x/sa/y", DNS:"d\\"q"'), [
      'spiffe://td/ns/a/sa/b, URI:spiffe://evil/ns/x/sa/y',
    ]);
    assert.deepEqual(uriSansOf(undefined), []);
    assert.deepEqual(uriSansOf(''), []);
  });

  it('keeps only valid SPIFFE ids and checks the trust domain', () => {
    const cert = { subjectaltname: 'URI:https://x, URI:spiffe://other/ns/a/sa/b, URI:spiffe://td/ns/a/sa/b' };
    assert.deepEqual(spiffeIdsOfCertificate(cert), ['spiffe://other/ns/a/sa/b', 'spiffe://td/ns/a/sa/b']);
    assert.equal(peerIdentityInTrustDomain(cert, 'td'), 'spiffe://td/ns/a/sa/b');
    assert.equal(peerIdentityInTrustDomain(cert, 'nope'), undefined);
    // The smuggled id inside a quoted value is not an identity.
    assert.equal(peerIdentityInTrustDomain({ subjectaltname: 'URI:"spiffe://x/ns/a/sa/b, URI:spiffe://td/ns/a/sa/b"' }, 'td'), undefined);
    assert.equal(peerIdentityInTrustDomain(undefined, 'td'), undefined);
  });
});
