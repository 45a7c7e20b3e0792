/**
 * A throw-away HTTPS server identity for tests: a root CA and a leaf for 127.0.0.1 (IP SAN), made
 * with node-forge (keys from node:crypto, which is fast). Used for JWKS servers over HTTPS.
 */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface HttpsTestCa {
  readonly rootPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function httpsTestCa(): HttpsTestCa {
  const mk = (): { pub: forge.pki.PublicKey; priv: forge.pki.PrivateKey; pem: string } => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    return { pub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()), priv: forge.pki.privateKeyFromPem(pem), pem };
  };
  const rootKey = mk();
  const root = forge.pki.createCertificate();
  root.publicKey = rootKey.pub;
  root.serialNumber = '01';
  root.validity.notBefore = new Date(Date.now() - 60_000);
  root.validity.notAfter = new Date(Date.now() + 3_600_000);
  const rootName = [{ name: 'commonName', value: 'jwks test root' }];
  root.setSubject(rootName);
  root.setIssuer(rootName);
  root.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
  root.sign(rootKey.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  const leafKey = mk();
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = leafKey.pub;
  leaf.serialNumber = '02';
  leaf.validity.notBefore = new Date(Date.now() - 60_000);
  leaf.validity.notAfter = new Date(Date.now() + 3_600_000);
  leaf.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  leaf.setIssuer(rootName);
  leaf.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }, { name: 'extKeyUsage', serverAuth: true }]);
  leaf.sign(rootKey.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { rootPem: forge.pki.certificateToPem(root), certPem: forge.pki.certificateToPem(leaf), keyPem: leafKey.pem };
}
