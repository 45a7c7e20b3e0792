/**
 * The local mesh's certificate authority (design §4): one self-signed root shared by every process
 * of the local mesh through a state directory, issuing short-lived SPIFFE leaf certificates.
 *
 * Layout: `<stateDir>/ca/root-cert.pem` and `<stateDir>/ca/root-key.pem` (mode 0600).
 * The first process to start creates them; the others load them. Creation is race-safe: the pair
 * is written into a private temp directory which is then renamed to `ca/` in one step, so a reader
 * sees either no CA or a complete one, and the loser of a race discards its own and loads the winner's.
 *
 * Keys come from node:crypto (native keygen is ~100x faster than forge's) and so do signatures;
 * forge builds the certificates (Node has no X.509 writer). Root: RSA 2048, CA, 10 years.
 */
const { createPrivateKey, generateKeyPair, hkdfSync, randomBytes, sign, X509Certificate } = process.getBuiltinModule('node:crypto');
import type { KeyObject } from 'node:crypto';
const { promises: fsp } = process.getBuiltinModule('node:fs');
const { isIP } = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');
const { promisify } = process.getBuiltinModule('node:util');
import forge from 'node-forge';
import type { SpiffeUri } from '../config/ir.js';
import { isSpiffeUri } from './spiffe.js';
import type { TlsMaterial } from './tls-material.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export const DEFAULT_LEAF_VALIDITY_MS = 24 * 60 * 60 * 1000;
const ROOT_VALIDITY_YEARS = 10;
/** Leaves are back-dated a little so a peer whose clock is slightly behind still accepts them. */
const CLOCK_SKEW_MS = 60_000;
const RSA_BITS = 2048;

export const CA_DIR = 'ca';
export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';

export interface LocalCaOptions {
  /** Organisation written in the root's subject; cosmetic. */
  readonly organization?: string;
}

export interface IssueOptions {
  /** Leaf lifetime; default 24 h (Istio's default workload certificate TTL). */
  readonly validityMs?: number;
}

export class LocalCa {
  private readonly rootKeyId: string;

  private constructor(
    readonly dir: string,
    readonly rootCertPem: string,
    private readonly rootCert: forge.pki.Certificate,
    private readonly rootKey: KeyObject,
  ) {
    this.rootKeyId = rootCert.generateSubjectKeyIdentifier().getBytes();
  }

  /** Loads the CA under `stateDir`, creating it first if absent. */
  static async open(stateDir: string, opts: LocalCaOptions = {}): Promise<LocalCa> {
    const dir = path.join(stateDir, CA_DIR);
    const loaded = await LocalCa.tryLoad(dir);
    if (loaded) return loaded;
    await fsp.mkdir(stateDir, { recursive: true });
    const tmp = await fsp.mkdtemp(path.join(stateDir, `.${CA_DIR}-tmp-`));
    try {
      const { certPem, keyPem } = await createRoot(opts.organization ?? 'ambient-waypoint local mesh');
      await fsp.writeFile(path.join(tmp, ROOT_KEY_FILE), keyPem, { mode: 0o600 });
      await fsp.writeFile(path.join(tmp, ROOT_CERT_FILE), certPem, { mode: 0o644 });
      try {
        // Atomic publish; fails if another process already published a non-empty ca/.
        await fsp.rename(tmp, dir);
      } catch (err) {
        if (!isCode(err, 'ENOTEMPTY') && !isCode(err, 'EEXIST')) throw err;
      }
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
    const ca = await LocalCa.tryLoad(dir);
    if (!ca) throw new Error(`local CA at ${dir} is incomplete`);
    return ca;
  }

  private static async tryLoad(dir: string): Promise<LocalCa | undefined> {
    let certPem: string;
    let keyPem: string;
    try {
      certPem = await fsp.readFile(path.join(dir, ROOT_CERT_FILE), 'utf8');
      keyPem = await fsp.readFile(path.join(dir, ROOT_KEY_FILE), 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
    const cert = forge.pki.certificateFromPem(certPem);
    return new LocalCa(dir, certPem, cert, createPrivateKey(keyPem));
  }

  /**
   * Issues a fresh key and leaf certificate whose only URI SAN is `identity`.
   *
   * The leaf key is ECDSA P-256 (as ztunnel's CSRs): native keygen takes ~1 ms where RSA 2048
   * takes 100-700 ms, which matters when a mesh starts with many identities, and its TLS
   * signatures are cheaper. forge can only encode RSA public keys, so the certificate is built with
   * forge around a placeholder key whose SubjectPublicKeyInfo is then swapped for the real one;
   * the TBS is signed natively with the root key (PKCS#1 v1.5, SHA-256).
   */
  async issue(identity: SpiffeUri, opts: IssueOptions = {}): Promise<TlsMaterial> {
    if (!isSpiffeUri(identity)) throw new TypeError(`not a SPIFFE identity: ${identity}`);
    const validityMs = opts.validityMs ?? DEFAULT_LEAF_VALIDITY_MS;
    if (!(validityMs > 0)) throw new RangeError(`validityMs must be positive, got ${validityMs}`);
    const { publicKey: spkiDer, privateKey: keyPem } = await generateKeyPairAsync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const leaf = this.certifyKey(spkiDer, [{ type: 6, value: identity }], validityMs, true);
    return { identity, certChainPem: leaf.certPem, keyPem, notBefore: leaf.notBefore, notAfter: leaf.notAfter };
  }

  /**
   * A secret derived from the root key for one purpose (`label`): every process holding the state
   * directory derives the same one, nobody without the root key can.
   */
  deriveSecret(label: string): Buffer {
    const ikm = this.rootKey.export({ type: 'pkcs8', format: 'der' });
    return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), `ambient-waypoint ${label}`, 32));
  }

  /**
   * Signs a certificate for a key the caller holds (the public half of a CSR, as Istio's CA API
   * does) whose only URI SAN is `identity`. Whether the caller may have `identity` is the
   * caller's decision (src/control-plane/ca-entitlement.ts).
   */
  certifyIdentity(identity: SpiffeUri, spkiDer: Buffer, opts: IssueOptions = {}): { certPem: string; notBefore: Date; notAfter: Date } {
    if (!isSpiffeUri(identity)) throw new TypeError(`not a SPIFFE identity: ${identity}`);
    const validityMs = opts.validityMs ?? DEFAULT_LEAF_VALIDITY_MS;
    if (!(validityMs > 0)) throw new RangeError(`validityMs must be positive, got ${validityMs}`);
    // Istio's clients renew at half of notAfter - notBefore: a fixed 60 s back-dating would make a
    // short lifetime (SECRET_TTL=30s) due at once and renewed in a loop, so it is capped at 1/10.
    return this.certifyKey(spkiDer, [{ type: 6, value: identity }], validityMs, true, Math.min(CLOCK_SKEW_MS, validityMs / 10));
  }

  /**
   * A TLS server certificate and key for DNS names and IP addresses (the local istiod's gRPC
   * port: Istio's ztunnel checks the server name of XDS_ADDRESS / CA_ADDRESS against it).
   */
  async issueServing(names: readonly string[], opts: IssueOptions = {}): Promise<{ certPem: string; keyPem: string }> {
    const { publicKey: spkiDer, privateKey: keyPem } = await generateKeyPairAsync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const altNames = names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
    const leaf = this.certifyKey(spkiDer, altNames, opts.validityMs ?? DEFAULT_LEAF_VALIDITY_MS, false);
    return { certPem: leaf.certPem, keyPem };
  }

  private certifyKey(spkiDer: Buffer, altNames: object[], validityMs: number, workload: boolean, skewMs = CLOCK_SKEW_MS): { certPem: string; notBefore: Date; notAfter: Date } {
    const now = Date.now();
    const cert = forge.pki.createCertificate();
    cert.publicKey = this.rootCert.publicKey; // placeholder, replaced in the TBS below
    cert.serialNumber = randomSerial();
    cert.validity.notBefore = new Date(now - skewMs);
    cert.validity.notAfter = new Date(now + validityMs);
    // Istio workload certificates have an empty subject; the identity is the critical URI SAN.
    cert.setSubject([]);
    cert.setIssuer(this.rootCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      workload ? { name: 'extKeyUsage', serverAuth: true, clientAuth: true } : { name: 'extKeyUsage', serverAuth: true },
      // An empty subject makes the SAN critical (RFC 5280 §4.2.1.6).
      { name: 'subjectAltName', altNames, critical: true },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.rootKeyId },
    ]);
    return { certPem: signWithSpki(cert, spkiDer, this.rootKey), notBefore: cert.validity.notBefore, notAfter: cert.validity.notAfter };
  }
}

/**
 * Issues a certificate for any SPIFFE identity from the CA in `stateDir` (created if absent), so
 * tools outside the mesh processes (a CLI client, a test) can join the local mesh.
 */
export async function issueFromStateDir(stateDir: string, identity: SpiffeUri, opts: IssueOptions = {}): Promise<TlsMaterial & { rootCertPem: string }> {
  const ca = await LocalCa.open(stateDir);
  const material = await ca.issue(identity, opts);
  return { ...material, rootCertPem: ca.rootCertPem };
}

/** Serial number of a PEM certificate (hex, upper case as Node prints it); handy for tests and logs. */
export function serialOf(certPem: string): string {
  return new X509Certificate(certPem).serialNumber;
}

async function createRoot(organization: string): Promise<{ certPem: string; keyPem: string }> {
  const { publicKey: spkiDer, privateKey: keyPem } = await generateKeyPairAsync('rsa', {
    modulusLength: RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(spkiDer.toString('binary'))));
  cert.serialNumber = randomSerial();
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + ROOT_VALIDITY_YEARS);
  cert.validity.notAfter = notAfter;
  const subject = [
    { name: 'organizationName', value: organization },
    { name: 'commonName', value: `local mesh root ${randomBytes(4).toString('hex')}` },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: signWithSpki(cert, spkiDer, createPrivateKey(keyPem)), keyPem };
}

/**
 * DER-encodes `cert` with `spkiDer` as its public key and signs it natively with `issuerKey`
 * (sha256WithRSAEncryption; forge's JS RSA is slow). `cert.publicKey` must be an RSA key forge can
 * encode; its SubjectPublicKeyInfo is located by value (not position, so optional TBS fields
 * cannot shift it) and replaced with `spkiDer` (identical for the self-signed root).
 */
function signWithSpki(cert: forge.pki.Certificate, spkiDer: Buffer, issuerKey: KeyObject): string {
  const { asn1 } = forge;
  const sha256WithRsa = forge.pki.oids['sha256WithRSAEncryption'];
  if (!sha256WithRsa) throw new Error('forge lacks the sha256WithRSAEncryption OID');
  cert.siginfo.algorithmOid = sha256WithRsa;
  cert.signatureOid = sha256WithRsa;
  // getTBSCertificate exists in forge but is missing from @types/node-forge.
  const pki = forge.pki as typeof forge.pki & { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  const placeholder = asn1.toDer(forge.pki.publicKeyToAsn1(cert.publicKey)).getBytes();
  const fields = tbs.value as forge.asn1.Asn1[];
  const at = fields.findIndex((f) => asn1.toDer(f).getBytes() === placeholder);
  if (at < 0) throw new Error('public key not found in the TBS certificate');
  fields[at] = asn1.fromDer(forge.util.createBuffer(spkiDer.toString('binary')));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, issuerKey);
  const algorithm = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(sha256WithRsa).getBytes()),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm,
    // BIT STRING: a leading 0 byte says no unused bits.
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`),
  ]);
  return forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
}

/** 16 random bytes, top bit cleared so the DER INTEGER stays positive, never zero. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
