/**
 * SPIFFE workload identities as Istio uses them: `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.
 *
 * Parsing is strict because identities are compared as exact strings (the HBONE client pins the
 * server's URI SAN, policies match principals): two spellings of one identity must not exist.
 */
import type { PeerCertificate } from 'node:tls';
import type { SpiffeUri } from '../config/ir.js';

const SCHEME = 'spiffe://';

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

// Trust domain: SPIFFE allows lower-case letters, digits, '.', '-' and '_' (spec §2.1).
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
// Namespace / service account: Kubernetes DNS-1123 labels and subdomains (SA names may contain dots).
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function isValidTrustDomain(td: string): boolean {
  return td.length > 0 && td.length <= 255 && TRUST_DOMAIN.test(td);
}

function isValidName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && K8S_NAME.test(name);
}

/** Builds the identity URI; `undefined` if any part is not a valid name. */
export function buildSpiffeUri(trustDomain: string, namespace: string, serviceAccount: string): SpiffeUri | undefined {
  if (!isValidTrustDomain(trustDomain) || !isValidName(namespace) || !isValidName(serviceAccount)) return undefined;
  return `${SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Like {@link buildSpiffeUri} for callers that hold already-validated config (throws on a bug). */
export function spiffeUriOf(trustDomain: string, namespace: string, serviceAccount: string): SpiffeUri {
  const uri = buildSpiffeUri(trustDomain, namespace, serviceAccount);
  if (uri === undefined) throw new TypeError(`invalid SPIFFE parts: ${trustDomain} / ${namespace} / ${serviceAccount}`);
  return uri;
}

/** Parses `spiffe://td/ns/<ns>/sa/<sa>` exactly (no query, fragment, port, extra segments). */
export function parseSpiffeUri(uri: string): SpiffeId | undefined {
  if (!uri.startsWith(SCHEME)) return undefined;
  const parts = uri.slice(SCHEME.length).split('/');
  if (parts.length !== 5) return undefined;
  const [td, nsKey, ns, saKey, sa] = parts;
  if (td === undefined || ns === undefined || sa === undefined) return undefined;
  if (nsKey !== 'ns' || saKey !== 'sa') return undefined;
  if (!isValidTrustDomain(td) || !isValidName(ns) || !isValidName(sa)) return undefined;
  return { trustDomain: td, namespace: ns, serviceAccount: sa };
}

export function isSpiffeUri(uri: string): boolean {
  return parseSpiffeUri(uri) !== undefined;
}

/** The trust domain of a valid identity, else `undefined`. */
export function trustDomainOf(uri: string): string | undefined {
  return parseSpiffeUri(uri)?.trustDomain;
}

/**
 * The URI SANs of a certificate, from Node's `subjectaltname` string, e.g.
 * `URI:spiffe://td/ns/a/sa/b, DNS:x`. Node quotes an entry as a JSON string when the value itself
 * contains a comma, quote or other special character (`URI:"spiffe://a,b"`), so a plain split on
 * ", " is wrong; this walks the string honouring those quotes.
 */
export function uriSansOf(subjectAltName: string | undefined): string[] {
  const out: string[] = [];
  if (!subjectAltName) return out;
  let i = 0;
  const n = subjectAltName.length;
  while (i < n) {
    while (i < n && (subjectAltName[i] === ' ' || subjectAltName[i] === ',')) i++;
    if (i >= n) break;
    const colon = subjectAltName.indexOf(':', i);
    if (colon < 0) break;
    const kind = subjectAltName.slice(i, colon);
    i = colon + 1;
    let value: string;
    if (subjectAltName[i] === '"') {
      // A JSON string literal: find its closing quote, skipping escapes.
      let j = i + 1;
      while (j < n && subjectAltName[j] !== '"') j += subjectAltName[j] === '\\' ? 2 : 1;
      const literal = subjectAltName.slice(i, j + 1);
      i = j + 1;
      try {
        const parsed: unknown = JSON.parse(literal);
        value = typeof parsed === 'string' ? parsed : '';
      } catch {
        value = '';
      }
    } else {
      const comma = subjectAltName.indexOf(', ', i);
      const end = comma < 0 ? n : comma;
      value = subjectAltName.slice(i, end);
      i = end;
    }
    if (kind === 'URI' && value !== '') out.push(value);
  }
  return out;
}

/** The valid SPIFFE identities in a peer certificate's URI SANs. */
export function spiffeIdsOfCertificate(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): SpiffeUri[] {
  if (!cert) return [];
  return uriSansOf(cert.subjectaltname).filter(isSpiffeUri);
}

/** The first SPIFFE identity of `cert` in `trustDomain`, or `undefined` (the server-side check). */
export function peerIdentityInTrustDomain(
  cert: Pick<PeerCertificate, 'subjectaltname'> | undefined,
  trustDomain: string,
): SpiffeUri | undefined {
  for (const id of spiffeIdsOfCertificate(cert)) {
    if (trustDomainOf(id) === trustDomain) return id;
  }
  return undefined;
}
