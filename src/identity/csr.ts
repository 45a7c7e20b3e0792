/**
 * Reads a PKCS#10 certificate signing request (RFC 2986) as Istio's CA clients send it: ztunnel
 * and istio-agent generate ECDSA P-256 (or RSA) keys and put the SPIFFE identity in a
 * subjectAltName URI inside the `extensionRequest` attribute (RFC 2985 §5.4.2).
 *
 * Parsed here with forge's generic DER reader rather than `forge.pki.certificationRequestFromPem`,
 * which only understands RSA keys; the signature is checked natively by node:crypto, so any key
 * type Node supports works. The result carries the SubjectPublicKeyInfo as DER, ready to be put
 * in a certificate by the local CA.
 */
const { createPublicKey, verify } = process.getBuiltinModule('node:crypto');
import forge from 'node-forge';

export interface ParsedCsr {
  /** SubjectPublicKeyInfo, DER. */
  readonly spkiDer: Buffer;
  /** URI SANs requested, in order (Istio sends exactly one SPIFFE URI). */
  readonly uris: readonly string[];
}

export type CsrResult = { readonly ok: true; readonly csr: ParsedCsr } | { readonly ok: false; readonly reason: string };

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** Signature algorithms of CSRs, by OID → the digest node:crypto verifies with. */
const SIGNATURE_DIGESTS: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256 (ztunnel, istio-agent)
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
/** GeneralName `uniformResourceIdentifier` is context tag 6 (RFC 5280 §4.2.1.6). */
const GENERAL_NAME_URI = 6;

/** Parses and verifies a PEM CSR; any malformation is a reason, never a throw. */
export function parseCsrPem(pem: string): CsrResult {
  try {
    return parse(pem);
  } catch (err) {
    return { ok: false, reason: `malformed CSR: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function parse(pem: string): CsrResult {
  const blocks = forge.pem.decode(pem);
  const block = blocks.find((b) => b.type === 'CERTIFICATE REQUEST' || b.type === 'NEW CERTIFICATE REQUEST');
  if (!block) return { ok: false, reason: 'no CERTIFICATE REQUEST PEM block' };
  const body = Buffer.from(block.body, 'binary');
  // The signed bytes and the key are taken as they arrived (re-encoding could change them).
  const [infoRaw] = derChildren(body);
  const spkiRaw = infoRaw ? derChildren(infoRaw)[2] : undefined;
  if (!infoRaw || !spkiRaw) return { ok: false, reason: 'a CSR is SEQUENCE { info { version, subject, key, attributes }, algorithm, signature }' };
  const root = fromDer(block.body, false);
  const [info, algorithm, signature] = children(root);
  if (!info || !algorithm || !signature) return { ok: false, reason: 'a CSR is SEQUENCE { info, algorithm, signature }' };
  const attributes = children(info)[3];
  const algOid = oidOf(children(algorithm)[0]);
  const digest = algOid ? SIGNATURE_DIGESTS[algOid] : undefined;
  if (!digest) return { ok: false, reason: `unsupported signature algorithm ${algOid ?? '(none)'}` };
  const sigBits = typeof signature.value === 'string' ? signature.value : '';
  // A BIT STRING's first byte counts unused bits; signatures are whole bytes.
  const sig = Buffer.from(sigBits.slice(1), 'binary');
  const key = createPublicKey({ key: spkiRaw, format: 'der', type: 'spki' });
  if (!verify(digest, infoRaw, key, sig)) return { ok: false, reason: 'CSR signature does not verify' };
  const spkiDer = Buffer.from(spkiRaw);
  return { ok: true, csr: { spkiDer, uris: attributes ? sanUris(attributes) : [] } };
}

function sanUris(attributes: forge.asn1.Asn1): string[] {
  const out: string[] = [];
  for (const attr of children(attributes)) {
    const [type, values] = children(attr);
    if (oidOf(type) !== OID_EXTENSION_REQUEST || !values) continue;
    for (const extensions of children(values)) {
      for (const ext of children(extensions)) {
        const parts = children(ext);
        if (oidOf(parts[0]) !== OID_SUBJECT_ALT_NAME) continue;
        const octets = parts[parts.length - 1];
        if (!octets || typeof octets.value !== 'string') continue;
        const names = fromDer(octets.value, true);
        for (const n of children(names)) {
          if (n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && (n.type as number) === GENERAL_NAME_URI && typeof n.value === 'string') out.push(n.value);
        }
      }
    }
  }
  return out;
}

/** forge's DER reader; its options object is missing from @types/node-forge. */
function fromDer(bytes: string, decodeBitStrings: boolean): forge.asn1.Asn1 {
  const read = forge.asn1.fromDer as unknown as (b: forge.util.ByteStringBuffer, o: { strict: boolean; decodeBitStrings: boolean }) => forge.asn1.Asn1;
  return read(forge.util.createBuffer(bytes), { strict: true, decodeBitStrings });
}

function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  return node && Array.isArray(node.value) ? node.value : [];
}

function oidOf(node: forge.asn1.Asn1 | undefined): string | undefined {
  if (!node || node.type !== forge.asn1.Type.OID || typeof node.value !== 'string') return undefined;
  return forge.asn1.derToOid(forge.util.createBuffer(node.value));
}

/** The raw TLVs inside a DER constructed element (definite lengths only, as DER requires). */
function derChildren(tlv: Buffer): Buffer[] {
  const outer = header(tlv, 0);
  const out: Buffer[] = [];
  let at = outer.contentStart;
  const end = outer.contentStart + outer.length;
  if (end > tlv.length) throw new Error('truncated element');
  while (at < end) {
    const h = header(tlv, at);
    const next = h.contentStart + h.length;
    if (next > end) throw new Error('truncated element');
    out.push(tlv.subarray(at, next));
    at = next;
  }
  return out;
}

function header(buf: Buffer, at: number): { contentStart: number; length: number } {
  const first = buf[at + 1];
  if (first === undefined) throw new Error('truncated header');
  if (first < 0x80) return { contentStart: at + 2, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error('unsupported length encoding');
  let length = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[at + 2 + i];
    if (b === undefined) throw new Error('truncated length');
    length = length * 256 + b;
  }
  return { contentStart: at + 2 + n, length };
}
