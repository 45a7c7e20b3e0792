/**
 * `/certs` entries from PEM: serial, SANs, validity, days until expiry, read with node's
 * X509Certificate (no parsing of our own).
 */
const { X509Certificate } = process.getBuiltinModule('node:crypto');
import type { CertChainStatus, CertStatus } from './admin-server.js';
import type { TlsMaterial } from '../identity/tls-material.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

const DAY_MS = 86_400_000;

export function certStatus(pem: string, path: string, now = Date.now()): CertStatus {
  const x = new X509Certificate(pem);
  const sans = (x.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.length > 0)
    .map((s) => (s.startsWith('URI:') ? { uri: s.slice(4) } : s.startsWith('DNS:') ? { dns: s.slice(4) } : { uri: s }));
  const to = new Date(x.validTo);
  return {
    path,
    serialNumber: x.serialNumber.toLowerCase(),
    subjectAltNames: sans,
    daysUntilExpiration: Math.max(0, Math.floor((to.getTime() - now) / DAY_MS)),
    validFrom: new Date(x.validFrom).toISOString(),
    expirationTime: to.toISOString(),
  };
}

/** A workload certificate and the roots it chains to, as one `/certs` entry. */
export function certChainStatus(material: TlsMaterial, roots: readonly string[]): CertChainStatus {
  const chain = material.certChainPem.match(PEM_BLOCK) ?? [];
  return {
    caCert: roots.flatMap((r) => r.match(PEM_BLOCK) ?? []).map((pem) => certStatus(pem, '<root>')),
    certChain: chain.map((pem) => certStatus(pem, material.identity)),
  };
}
