/**
 * A {@link CertSource} reading PEM files written by something else (cert-manager, istio-agent, a
 * CSI driver, `ambient ca issue`).
 *
 * Layout of `dir`:
 * ```
 * root-cert.pem                    trust anchors (one or more PEM certificates)
 * <ns>/<sa>/cert-chain.pem         leaf first, then intermediates
 * <ns>/<sa>/key.pem
 * ```
 * or, for a single identity, Istio's workload-credentials layout: `cert-chain.pem`, `key.pem`
 * and `root-cert.pem` side by side in `dir` (the identity is read from the certificate).
 *
 * Files are re-read on {@link reload} and, when `pollIntervalMs` is set, on a timer (polling,
 * not fs.watch: Kubernetes swaps mounted secrets through symlinks, which watchers miss).
 * A changed certificate is announced through `onRotate`.
 */
const { createPrivateKey, X509Certificate } = process.getBuiltinModule('node:crypto');
const { readFileSync } = process.getBuiltinModule('node:fs');
const { promises: fsp } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
import type { SpiffeUri } from '../config/ir.js';
import { parseSpiffeUri, uriSansOf } from './spiffe.js';
import type { CertSource, TlsMaterial } from './tls-material.js';

export const ROOTS_FILE = 'root-cert.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';

export interface FileCertSourceOptions {
  readonly dir: string;
  readonly trustDomain: string;
  /** Re-read the files this often; 0/undefined = only on reload(). */
  readonly pollIntervalMs?: number;
  readonly onError?: (err: unknown) => void;
}

export class FileCertSource implements CertSource {
  readonly trustDomain: string;
  private roots: string[];
  private readonly cache = new Map<SpiffeUri, TlsMaterial>();
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: FileCertSourceOptions) {
    this.trustDomain = opts.trustDomain;
    // Synchronous on purpose: a source without roots is a start-up configuration error.
    this.roots = splitPem(readFileSync(path.join(opts.dir, ROOTS_FILE), 'utf8'));
    if (this.roots.length === 0) throw new Error(`${path.join(opts.dir, ROOTS_FILE)} holds no certificate`);
    if (opts.pollIntervalMs && opts.pollIntervalMs > 0) {
      this.timer = setInterval(() => {
        this.reload().catch((err: unknown) => (opts.onError ?? console.error)(err));
      }, opts.pollIntervalMs);
      this.timer.unref();
    }
  }

  rootsPem(): readonly string[] {
    return this.roots;
  }

  async certificate(identity: SpiffeUri): Promise<TlsMaterial> {
    const cached = this.cache.get(identity);
    if (cached) return cached;
    const material = await this.load(identity);
    this.cache.set(identity, material);
    return material;
  }

  /** Re-reads roots and every identity already served; announces the ones that changed. */
  async reload(): Promise<void> {
    const roots = splitPem(await fsp.readFile(path.join(this.opts.dir, ROOTS_FILE), 'utf8'));
    if (roots.length > 0) this.roots = roots;
    for (const [identity, old] of this.cache) {
      const fresh = await this.load(identity);
      if (fresh.certChainPem === old.certChainPem && fresh.keyPem === old.keyPem) continue;
      this.cache.set(identity, fresh);
      for (const l of this.listeners) l(fresh);
    }
  }

  onRotate(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private async load(identity: SpiffeUri): Promise<TlsMaterial> {
    const id = parseSpiffeUri(identity);
    if (!id) throw new TypeError(`not a SPIFFE identity: ${identity}`);
    const perIdentity = path.join(this.opts.dir, id.namespace, id.serviceAccount);
    let files = await readPair(perIdentity);
    if (!files) files = await readPair(this.opts.dir);
    if (!files) throw new Error(`no ${CERT_CHAIN_FILE}/${KEY_FILE} for ${identity} in ${perIdentity} or ${this.opts.dir}`);
    const chain = splitPem(files.certChainPem);
    const leafPem = chain[0];
    if (!leafPem) throw new Error(`${files.dir}/${CERT_CHAIN_FILE} holds no certificate`);
    const leaf = new X509Certificate(leafPem);
    if (!uriSansOf(leaf.subjectAltName).includes(identity)) {
      throw new Error(`${files.dir}/${CERT_CHAIN_FILE} is not for ${identity} (SANs: ${leaf.subjectAltName ?? 'none'})`);
    }
    if (!leaf.checkPrivateKey(createPrivateKey(files.keyPem))) throw new Error(`${files.dir}/${KEY_FILE} does not match its certificate`);
    return {
      identity,
      certChainPem: files.certChainPem,
      keyPem: files.keyPem,
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
    };
  }
}

async function readPair(dir: string): Promise<{ dir: string; certChainPem: string; keyPem: string } | undefined> {
  try {
    const certChainPem = await fsp.readFile(path.join(dir, CERT_CHAIN_FILE), 'utf8');
    const keyPem = await fsp.readFile(path.join(dir, KEY_FILE), 'utf8');
    return { dir, certChainPem, keyPem };
  } catch (err) {
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
}

const PEM_END = '-----END CERTIFICATE-----';

/** Splits a PEM bundle into one string per certificate. */
export function splitPem(bundle: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (;;) {
    const start = bundle.indexOf('-----BEGIN CERTIFICATE-----', from);
    if (start < 0) break;
    const end = bundle.indexOf(PEM_END, start);
    if (end < 0) break;
    // Keep the block byte-exact, its own line ending included (forge writes CRLF).
    let stop = end + PEM_END.length;
    if (bundle.startsWith('\r\n', stop)) stop += 2;
    else if (bundle.startsWith('\n', stop)) stop += 1;
    const block = bundle.slice(start, stop);
    out.push(stop === end + PEM_END.length ? `${block}\n` : block);
    from = stop;
  }
  return out;
}
