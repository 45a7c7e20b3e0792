/**
 * A fake Istio CA: a real gRPC server over TLS (certificate for 127.0.0.1 from its own root)
 * serving `istio.v1.auth.IstioCertificateService/CreateCertificate`. It checks the bearer token,
 * verifies the CSR, and signs its SPIFFE URI SAN for the requested lifetime. Records requests.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import forge from 'node-forge';
import { codec } from '../../src/sources/xds-protos.js';

export interface CaRequest {
  readonly token: string | undefined;
  readonly identity: string | undefined;
  readonly validitySeconds: number;
}

function rsaKey(): { pub: forge.pki.PublicKey; priv: forge.pki.rsa.PrivateKey; pem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return { pub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()), priv: forge.pki.privateKeyFromPem(pem), pem };
}

let serial = 1;

export class FakeCa {
  readonly requests: CaRequest[] = [];
  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    readonly rootPem: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(token: string): Promise<FakeCa> {
    const rootKey = rsaKey();
    const rootName = [{ name: 'commonName', value: 'fake istio ca' }];
    const root = forge.pki.createCertificate();
    root.publicKey = rootKey.pub;
    root.serialNumber = '01';
    root.validity.notBefore = new Date(Date.now() - 60_000);
    root.validity.notAfter = new Date(Date.now() + 3_600_000);
    root.setSubject(rootName);
    root.setIssuer(rootName);
    root.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]);
    root.sign(rootKey.priv, forge.md.sha256.create());
    const rootPem = forge.pki.certificateToPem(root);
    const sign = (pub: forge.pki.PublicKey, altNames: unknown[], lifetimeMs: number, extra: unknown[] = []): string => {
      const c = forge.pki.createCertificate();
      c.publicKey = pub;
      c.serialNumber = (++serial).toString(16).padStart(2, '0');
      c.validity.notBefore = new Date(Date.now() - 1000);
      c.validity.notAfter = new Date(Date.now() + lifetimeMs);
      c.setSubject([]);
      c.setIssuer(rootName);
      c.setExtensions([{ name: 'subjectAltName', altNames, critical: true }, ...extra]);
      c.sign(rootKey.priv, forge.md.sha256.create());
      return forge.pki.certificateToPem(c);
    };
    const serverKey = rsaKey();
    const serverCert = sign(serverKey.pub, [{ type: 7, ip: '127.0.0.1' }], 3_600_000, [{ name: 'extKeyUsage', serverAuth: true }]);

    const server = new grpc.Server();
    const req = codec('istio.v1.auth.IstioCertificateRequest');
    const res = codec('istio.v1.auth.IstioCertificateResponse');
    const port: number = await new Promise((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(serverKey.pem), cert_chain: Buffer.from(serverCert) }]), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const fake = new FakeCa(server, port, rootPem);
    server.register(
      '/istio.v1.auth.IstioCertificateService/CreateCertificate',
      (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
        const auth = call.metadata.get('authorization')[0];
        const got = typeof auth === 'string' ? auth.replace(/^Bearer /, '') : undefined;
        const csr = forge.pki.certificationRequestFromPem(String(call.request['csr']));
        const ext = (csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name: string; altNames?: { type: number; value?: string }[] }[] } | null)?.extensions ?? [];
        const uri = ext.find((e) => e.name === 'subjectAltName')?.altNames?.find((n) => n.type === 6)?.value;
        const validitySeconds = Number(call.request['validity_duration'] ?? 0);
        fake.requests.push({ token: got, identity: uri, validitySeconds });
        if (got !== token) return callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad token' });
        if (!csr.verify() || !uri) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'bad CSR' });
        callback(null, { cert_chain: [sign(csr.publicKey!, [{ type: 6, value: uri }], validitySeconds * 1000, [{ name: 'extKeyUsage', serverAuth: true, clientAuth: true }]), rootPem] });
      },
      res.serialize,
      req.deserialize,
      'unary',
    );
    return fake;
  }

  close(): void {
    this.server.forceShutdown();
  }
}
