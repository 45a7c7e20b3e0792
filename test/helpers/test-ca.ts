/**
 * A throw-away local CA for tests: a fresh root in a temp state directory (removed on close), a
 * {@link CertSource} over it, and direct issuing for any identity (including other trust domains,
 * to test refusals). Two calls give two unrelated CAs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SpiffeUri } from '../../src/config/ir.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { LocalCaCertSource } from '../../src/identity/local-ca-cert-source.js';
import type { CertSource, TlsMaterial } from '../../src/identity/tls-material.js';

export interface TestCa {
  readonly ca: LocalCa;
  readonly certSource: LocalCaCertSource & CertSource;
  readonly rootsPem: string[];
  readonly trustDomain: string;
  /** Issues a fresh certificate (not cached in certSource) for `identity`. */
  issue(identity: SpiffeUri, opts?: { validityMs?: number }): Promise<TlsMaterial>;
  /** `spiffe://<td>/ns/<ns>/sa/<sa>` in this CA's trust domain. */
  id(ns: string, sa: string): SpiffeUri;
  readonly dir: string;
  close(): void;
}

export async function createTestCa(opts: { trustDomain?: string; validityMs?: number } = {}): Promise<TestCa> {
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const dir = mkdtempSync(path.join(tmpdir(), 'aw-test-ca-'));
  try {
    const ca = await LocalCa.open(dir);
    const certSource = new LocalCaCertSource(ca, {
      trustDomain,
      ...(opts.validityMs !== undefined ? { validityMs: opts.validityMs } : {}),
    });
    return {
      ca,
      certSource,
      rootsPem: [ca.rootCertPem],
      trustDomain,
      issue: (identity, o) => ca.issue(identity, { validityMs: o?.validityMs ?? opts.validityMs ?? 3_600_000 }),
      id: (ns, sa) => `spiffe://${trustDomain}/ns/${ns}/sa/${sa}`,
      dir,
      close: () => {
        certSource.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
