/**
 * `--cert-lifetime` and `--cert-refresh-fraction`: how long the workload certificates a role gets
 * from the mesh CA live, and at which fraction of that life the role re-issues them (istio-agent's
 * `SECRET_TTL` and `SECRET_GRACE_PERIOD_RATIO` play these roles). Defaults: 24 h and 0.8 with the
 * built-in CA; with Istio's CA the lifetime is the CA's and the refresh point 0.5 (istio-agent's).
 * Short lifetimes let rotation be exercised: a re-issued certificate is presented by new
 * connections, while open connections keep the one they were established with.
 */
import { parseDuration } from '../config/from-k8s/duration.js';
import { UsageError } from './usage-error.js';

export const CERT_LIFETIME_OPTIONS = {
  /** Leaf certificate lifetime, a duration (`24h`, `10m`, `30s`); at least 1 s. */
  'cert-lifetime': { type: 'string' },
  /** Fraction of the lifetime after which a certificate is re-issued, in (0, 1). */
  'cert-refresh-fraction': { type: 'string' },
} as const;

export interface CertLifetime {
  readonly validityMs?: number;
  readonly refreshFraction?: number;
}

/** One second: below that, issuing (an RSA-signed leaf) takes a noticeable part of the lifetime. */
const MIN_LIFETIME_MS = 1000;

export function parseCertLifetime(values: { readonly 'cert-lifetime'?: string | undefined; readonly 'cert-refresh-fraction'?: string | undefined }): CertLifetime {
  const lifetime = values['cert-lifetime'];
  const fraction = values['cert-refresh-fraction'];
  let validityMs: number | undefined;
  if (lifetime !== undefined) {
    validityMs = parseDuration(lifetime);
    if (validityMs === undefined || validityMs < MIN_LIFETIME_MS) throw new UsageError(`--cert-lifetime must be a duration of at least 1s (e.g. 24h, 10m, 30s), got ${JSON.stringify(lifetime)}`);
  }
  let refreshFraction: number | undefined;
  if (fraction !== undefined) {
    refreshFraction = Number(fraction);
    if (fraction.trim() === '' || !Number.isFinite(refreshFraction) || refreshFraction <= 0 || refreshFraction >= 1) {
      throw new UsageError(`--cert-refresh-fraction must be a number between 0 and 1 (exclusive), got ${JSON.stringify(fraction)}`);
    }
  }
  return { ...(validityMs !== undefined ? { validityMs } : {}), ...(refreshFraction !== undefined ? { refreshFraction } : {}) };
}

/** The same settings as arguments for a child role (`ambient up` passes them on). */
export function certLifetimeArgs(c: CertLifetime): string[] {
  return [
    ...(c.validityMs !== undefined ? ['--cert-lifetime', `${c.validityMs}ms`] : []),
    ...(c.refreshFraction !== undefined ? ['--cert-refresh-fraction', String(c.refreshFraction)] : []),
  ];
}
