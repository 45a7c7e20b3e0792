import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileCertSource, splitPem } from '../../src/identity/file-cert-source.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { eventually } from '../helpers/eventually.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

describe('FileCertSource', () => {
  let ca: TestCa;
  let dir: string;
  const id = (sa: string): string => ca.id('ns', sa);

  function writeIdentity(base: string, m: TlsMaterial): void {
    mkdirSync(base, { recursive: true });
    writeFileSync(path.join(base, 'cert-chain.pem'), m.certChainPem);
    writeFileSync(path.join(base, 'key.pem'), m.keyPem);
  }

  before(async () => {
    ca = await createTestCa();
    dir = mkdtempSync(path.join(tmpdir(), 'aw-file-certs-'));
    writeFileSync(path.join(dir, 'root-cert.pem'), ca.rootsPem.join(''));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    ca.close();
  });

  it('loads <ns>/<sa>/ files and the roots', async () => {
    const m = await ca.issue(id('a'));
    writeIdentity(path.join(dir, 'ns', 'a'), m);
    const src = new FileCertSource({ dir, trustDomain: 'cluster.local' });
    try {
      assert.deepEqual(src.rootsPem(), ca.rootsPem);
      const got = await src.certificate(id('a'));
      assert.equal(got.identity, id('a'));
      assert.equal(got.certChainPem, m.certChainPem);
      assert.equal(got.keyPem, m.keyPem);
      assert.equal(Math.floor(got.notAfter.getTime() / 1000), Math.floor(m.notAfter.getTime() / 1000));
      await assert.rejects(src.certificate(id('missing')), /no cert-chain.pem/);
    } finally {
      src.close();
    }
  });

  it('refuses a certificate for another identity or a key that does not match', async () => {
    writeIdentity(path.join(dir, 'ns', 'wrong-san'), await ca.issue(id('someone-else')));
    const a = await ca.issue(id('bad-key'));
    const b = await ca.issue(id('other'));
    writeIdentity(path.join(dir, 'ns', 'bad-key'), { ...a, keyPem: b.keyPem });
    const src = new FileCertSource({ dir, trustDomain: 'cluster.local' });
    try {
      await assert.rejects(src.certificate(id('wrong-san')), /not for/);
      await assert.rejects(src.certificate(id('bad-key')), /does not match/);
    } finally {
      src.close();
    }
  });

  it('supports the single-identity layout (files side by side with the roots)', async () => {
    const single = mkdtempSync(path.join(tmpdir(), 'aw-file-single-'));
    try {
      writeFileSync(path.join(single, 'root-cert.pem'), ca.rootsPem.join(''));
      const m = await ca.issue(id('solo'));
      writeIdentity(single, m);
      const src = new FileCertSource({ dir: single, trustDomain: 'cluster.local' });
      assert.equal((await src.certificate(id('solo'))).certChainPem, m.certChainPem);
      await assert.rejects(src.certificate(id('not-solo')), /not for/);
      src.close();
    } finally {
      rmSync(single, { recursive: true, force: true });
    }
  });

  it('reload() and polling announce replaced certificates', async () => {
    const base = path.join(dir, 'ns', 'rot');
    writeIdentity(base, await ca.issue(id('rot')));
    const src = new FileCertSource({ dir, trustDomain: 'cluster.local', pollIntervalMs: 20 });
    try {
      await src.certificate(id('rot'));
      const seen: TlsMaterial[] = [];
      src.onRotate((m) => seen.push(m));
      const next = await ca.issue(id('rot'));
      writeIdentity(base, next);
      await eventually(() => assert.equal(seen.at(-1)?.certChainPem, next.certChainPem));
      assert.equal((await src.certificate(id('rot'))).certChainPem, next.certChainPem);
    } finally {
      src.close();
    }
  });

  it('splitPem splits bundles', () => {
    const two = ca.rootsPem.join('') + ca.rootsPem.join('');
    assert.equal(splitPem(two).length, 2);
    assert.deepEqual(splitPem('garbage'), []);
  });
});
