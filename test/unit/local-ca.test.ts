import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CA_DIR, LocalCa, ROOT_CERT_FILE, ROOT_KEY_FILE, issueFromStateDir, serialOf } from '../../src/identity/local-ca.js';
import { LocalCaCertSource } from '../../src/identity/local-ca-cert-source.js';
import { uriSansOf } from '../../src/identity/spiffe.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { eventually } from '../helpers/eventually.js';

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'aw-local-ca-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ID = 'spiffe://cluster.local/ns/default/sa/reviews';

describe('LocalCa', () => {
  it('creates a root on first open and loads the same one afterwards', async () => {
    const dir = stateDir();
    const a = await LocalCa.open(dir);
    const b = await LocalCa.open(dir);
    assert.equal(a.rootCertPem, b.rootCertPem);
    const root = new X509Certificate(a.rootCertPem);
    assert.equal(root.ca, true);
    assert.ok(root.verify(root.publicKey), 'self-signed');
    assert.equal(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    const years = (Date.parse(root.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `root valid ${years} years`);
    const keyFile = path.join(dir, CA_DIR, ROOT_KEY_FILE);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(createPrivateKey(readFileSync(keyFile, 'utf8')));
    assert.equal(readFileSync(path.join(dir, CA_DIR, ROOT_CERT_FILE), 'utf8'), a.rootCertPem);
    // No temp directories left behind.
    assert.deepEqual(readdirSync(dir), [CA_DIR]);
  });

  it('concurrent opens in one process agree on one root', async () => {
    const dir = stateDir();
    const cas = await Promise.all(Array.from({ length: 6 }, () => LocalCa.open(dir)));
    for (const c of cas) assert.equal(c.rootCertPem, cas[0]?.rootCertPem);
    assert.deepEqual(readdirSync(dir), [CA_DIR]);
  });

  it('concurrent opens in separate processes agree on one root', async () => {
    const dir = stateDir();
    const modulePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/identity/local-ca.js');
    const script = `import { LocalCa } from ${JSON.stringify(modulePath)}; const ca = await LocalCa.open(process.argv[1]); process.stdout.write(ca.rootCertPem);`;
    const run = promisify(execFile);
    const outs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script, dir])));
    const roots = new Set(outs.map((o) => o.stdout));
    assert.equal(roots.size, 1);
    assert.equal([...roots][0], (await LocalCa.open(dir)).rootCertPem);
  });

  it('issues leaves: URI SAN, usages, validity, random serial, chains to the root, key matches', async () => {
    const ca = await LocalCa.open(stateDir());
    const m = await ca.issue(ID, { validityMs: 3_600_000 });
    const m2 = await ca.issue(ID);
    const leaf = new X509Certificate(m.certChainPem);
    const root = new X509Certificate(ca.rootCertPem);
    assert.equal(m.identity, ID);
    assert.deepEqual(uriSansOf(leaf.subjectAltName), [ID]);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(root));
    assert.ok(leaf.verify(root.publicKey));
    assert.ok(leaf.checkPrivateKey(createPrivateKey(m.keyPem)));
    assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const lifetime = m.notAfter.getTime() - Date.now();
    assert.ok(lifetime > 3_590_000 && lifetime <= 3_600_000, `lifetime ${lifetime}`);
    assert.ok(m.notBefore.getTime() <= Date.now());
    assert.equal(Date.parse(leaf.validTo), Math.floor(m.notAfter.getTime() / 1000) * 1000);
    const dayish = m2.notAfter.getTime() - Date.now();
    assert.ok(dayish > 23.9 * 3600_000 && dayish <= 24 * 3600_000, 'default validity 24h');
    assert.notEqual(serialOf(m.certChainPem), serialOf(m2.certChainPem));
    assert.notEqual(m.keyPem, m2.keyPem);
  });

  it('refuses identities that are not SPIFFE ids', async () => {
    const ca = await LocalCa.open(stateDir());
    await assert.rejects(ca.issue('spiffe://td/ns/a'), TypeError);
    await assert.rejects(ca.issue('https://x'), TypeError);
  });

  it('issueFromStateDir issues from the shared root', async () => {
    const dir = stateDir();
    const ca = await LocalCa.open(dir);
    const m = await issueFromStateDir(dir, 'spiffe://other.td/ns/tool/sa/cli');
    assert.equal(m.rootCertPem, ca.rootCertPem);
    assert.ok(new X509Certificate(m.certChainPem).verify(new X509Certificate(ca.rootCertPem).publicKey));
  });
});

describe('LocalCaCertSource', () => {
  it('caches per identity and dedupes concurrent requests', async () => {
    const src = new LocalCaCertSource(await LocalCa.open(stateDir()), { trustDomain: 'cluster.local' });
    try {
      const [a, b] = await Promise.all([src.certificate(ID), src.certificate(ID)]);
      assert.equal(a, b);
      assert.equal(await src.certificate(ID), a);
      assert.notEqual(await src.certificate(`${ID}-2`), a);
      assert.equal(src.rootsPem().length, 1);
    } finally {
      src.close();
    }
  });

  it('rotateNow re-issues, notifies listeners and serves the new certificate', async () => {
    const src = new LocalCaCertSource(await LocalCa.open(stateDir()), { trustDomain: 'cluster.local' });
    try {
      const first = await src.certificate(ID);
      const seen: TlsMaterial[] = [];
      const off = src.onRotate((m) => seen.push(m));
      const next = await src.rotateNow(ID);
      assert.notEqual(serialOf(next.certChainPem), serialOf(first.certChainPem));
      assert.deepEqual(seen, [next]);
      assert.equal(await src.certificate(ID), next);
      off();
      await src.rotateNow(ID);
      assert.equal(seen.length, 1);
    } finally {
      src.close();
    }
  });

  it('re-issues by itself at the refresh fraction of the lifetime', async () => {
    const src = new LocalCaCertSource(await LocalCa.open(stateDir()), { trustDomain: 'cluster.local', validityMs: 1_000, refreshFraction: 0.2 });
    try {
      const first = await src.certificate(ID);
      const seen: TlsMaterial[] = [];
      src.onRotate((m) => seen.push(m));
      await eventually(() => assert.ok(seen.length >= 1), 3_000);
      assert.notEqual(seen[0]?.certChainPem, first.certChainPem);
      assert.equal(await src.certificate(ID), seen.at(-1));
    } finally {
      src.close();
    }
  });

  it('close() stops rotation', async () => {
    const ca = await LocalCa.open(stateDir());
    const opts = { trustDomain: 'cluster.local', validityMs: 500, refreshFraction: 0.1 };
    const closed = new LocalCaCertSource(ca, opts);
    const control = new LocalCaCertSource(ca, opts);
    try {
      await Promise.all([closed.certificate(ID), control.certificate(ID)]);
      let closedRotations = 0;
      let controlRotations = 0;
      closed.onRotate(() => closedRotations++);
      control.onRotate(() => controlRotations++);
      closed.close();
      // The control, armed at the same time, rotates several times: the closed one never does.
      await eventually(() => assert.ok(controlRotations >= 3), 3_000);
      assert.equal(closedRotations, 0);
    } finally {
      control.close();
    }
  });
});
