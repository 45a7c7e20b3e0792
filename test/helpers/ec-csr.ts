/**
 * PKCS#10 CSRs as Istio's ztunnel sends them (ECDSA P-256 key, empty subject, the SPIFFE identity
 * as a subjectAltName URI in an extensionRequest attribute), built with forge's ASN.1 writer and
 * signed by node:crypto (forge cannot sign with EC keys). Also a CSR with several URIs, for
 * refusals.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;

function seq(items: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
}

function oid(o: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(o).getBytes());
}

function fromBuffer(b: Buffer): forge.asn1.Asn1 {
  return asn1.fromDer(forge.util.createBuffer(b.toString('binary')));
}

export interface EcCsr {
  readonly pem: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function ecCsr(uris: readonly string[], signWith?: KeyObject): EcCsr {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = fromBuffer(publicKey.export({ type: 'spki', format: 'der' }));
  const names = seq(uris.map((u) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, u)));
  const san = seq([oid('2.5.29.17'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(names).getBytes())]);
  const extReq = seq([oid('1.2.840.113549.1.9.14'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [seq([san])])]);
  const info = seq([
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, '\x00'),
    seq([]),
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [extReq]),
  ]);
  const infoDer = Buffer.from(asn1.toDer(info).getBytes(), 'binary');
  const signature = sign('sha256', infoDer, signWith ?? privateKey);
  const csr = seq([info, seq([oid('1.2.840.10045.4.3.2')]), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`)]);
  const pem = forge.pem.encode({ type: 'CERTIFICATE REQUEST', body: asn1.toDer(csr).getBytes() });
  return { pem, privateKey, publicKey };
}
