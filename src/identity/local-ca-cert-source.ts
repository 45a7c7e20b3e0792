/**
 * A {@link CertSource} backed by the {@link LocalCa}: issues each identity's certificate on first
 * use, caches it, and re-issues it at a fraction of its lifetime (80% by default; istio-agent's
 * `SECRET_GRACE_PERIOD_RATIO` plays this role), well before expiry so a slow or failed issue
 * (retried) never leaves a listener serving an expired certificate.
 */
import type { SpiffeUri } from '../config/ir.js';
import type { IssueOptions } from './local-ca.js';
import { DEFAULT_LEAF_VALIDITY_MS } from './local-ca.js';
import type { CertSource, TlsMaterial } from './tls-material.js';

/**
 * What issues certificates: the {@link LocalCa}, or Istio's CA over gRPC (`ca-client.ts`). The
 * caching and rotation below are the same for both.
 */
export interface CertIssuer {
  readonly rootCertPem: string;
  issue(identity: SpiffeUri, opts?: IssueOptions): Promise<TlsMaterial>;
}

export interface LocalCaCertSourceOptions {
  readonly trustDomain: string;
  /** Leaf lifetime; default 24 h. */
  readonly validityMs?: number;
  /** Fraction of the lifetime after which a certificate is re-issued; default 0.8. */
  readonly refreshFraction?: number;
  /** Called when a background re-issue fails (it is retried); default: console.error. */
  readonly onError?: (err: unknown, identity: SpiffeUri) => void;
}

interface Entry {
  material: TlsMaterial;
  timer?: NodeJS.Timeout;
}

/** setTimeout fires immediately for delays above 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Back-off before retrying a failed background re-issue. */
const RETRY_MS = 30_000;

export class LocalCaCertSource implements CertSource {
  readonly trustDomain: string;
  private readonly entries = new Map<SpiffeUri, Entry>();
  private readonly pending = new Map<SpiffeUri, Promise<TlsMaterial>>();
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private readonly validityMs: number;
  private readonly refreshFraction: number;
  private closed = false;

  constructor(
    private readonly ca: CertIssuer,
    private readonly opts: LocalCaCertSourceOptions,
  ) {
    this.trustDomain = opts.trustDomain;
    this.validityMs = opts.validityMs ?? DEFAULT_LEAF_VALIDITY_MS;
    this.refreshFraction = opts.refreshFraction ?? 0.8;
    if (!(this.refreshFraction > 0 && this.refreshFraction < 1)) throw new RangeError('refreshFraction must be in (0, 1)');
  }

  rootsPem(): readonly string[] {
    return [this.ca.rootCertPem];
  }

  certificate(identity: SpiffeUri): Promise<TlsMaterial> {
    const entry = this.entries.get(identity);
    if (entry) return Promise.resolve(entry.material);
    return this.issueOnce(identity, false);
  }

  /** Re-issues `identity` now (ops, tests) and notifies listeners; resolves with the new material. */
  rotateNow(identity: SpiffeUri): Promise<TlsMaterial> {
    return this.issueOnce(identity, true);
  }

  onRotate(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    this.listeners.clear();
  }

  /** One issue in flight per identity: concurrent callers share it. */
  private issueOnce(identity: SpiffeUri, rotation: boolean): Promise<TlsMaterial> {
    const inFlight = this.pending.get(identity);
    if (inFlight && !rotation) return inFlight;
    const p = (inFlight ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.ca.issue(identity, { validityMs: this.validityMs }))
      .then((material) => {
        this.install(material, rotation);
        return material;
      })
      .finally(() => {
        if (this.pending.get(identity) === p) this.pending.delete(identity);
      });
    this.pending.set(identity, p);
    return p;
  }

  private install(material: TlsMaterial, notify: boolean): void {
    if (this.closed) return;
    const previous = this.entries.get(material.identity);
    if (previous) clearTimeout(previous.timer);
    const entry: Entry = { material };
    this.entries.set(material.identity, entry);
    const issuedAt = Date.now();
    const lifetime = material.notAfter.getTime() - issuedAt;
    this.arm(entry, issuedAt + lifetime * this.refreshFraction);
    if (notify || previous) this.notify(material);
  }

  private arm(entry: Entry, at: number): void {
    const delay = Math.max(0, at - Date.now());
    entry.timer = setTimeout(() => {
      if (this.closed || this.entries.get(entry.material.identity) !== entry) return;
      if (Date.now() < at) {
        this.arm(entry, at);
        return;
      }
      this.rotateNow(entry.material.identity).catch((err: unknown) => {
        (this.opts.onError ?? defaultOnError)(err, entry.material.identity);
        if (this.entries.get(entry.material.identity) === entry) this.arm(entry, Date.now() + RETRY_MS);
      });
    }, Math.min(delay, MAX_TIMER_MS));
    entry.timer.unref();
  }

  private notify(material: TlsMaterial): void {
    for (const l of this.listeners) {
      try {
        l(material);
      } catch (err) {
        (this.opts.onError ?? defaultOnError)(err, material.identity);
      }
    }
  }
}

function defaultOnError(err: unknown, identity: SpiffeUri): void {
  console.error(`certificate rotation for ${identity} failed:`, err);
}
