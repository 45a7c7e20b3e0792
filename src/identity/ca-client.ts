/**
 * Istio's CA as a certificate issuer: a key pair and a CSR (node-forge, the SPIFFE identity as a
 * URI SAN, empty subject as Istio's own CSRs) sent to `istio.v1.auth.IstioCertificateService/
 * CreateCertificate` over TLS, authenticated by a Kubernetes service-account token in the call
 * metadata (`authorization: Bearer <token>`), as istio-agent and ztunnel do. Plug it into
 * {@link LocalCaCertSource} (with `refreshFraction: 0.5`: istio-agent renews at half life) for
 * caching and rotation; listeners swap TLS contexts on rotation, so connections are not dropped.
 */
const { generateKeyPair } = process.getBuiltinModule('node:crypto');
const { readFileSync } = process.getBuiltinModule('node:fs');
const { promisify } = process.getBuiltinModule('node:util');
import * as grpc from '@grpc/grpc-js';
import forge from 'node-forge';
import type { SpiffeUri } from '../config/ir.js';
import { codec } from '../sources/xds-protos.js';
import type { IssueOptions } from './local-ca.js';
import { DEFAULT_LEAF_VALIDITY_MS } from './local-ca.js';
import type { CertIssuer } from './local-ca-cert-source.js';
import type { TlsMaterial } from './tls-material.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const METHOD = '/istio.v1.auth.IstioCertificateService/CreateCertificate';

export interface IstioCaClientOptions {
  /** `host:port` (Istio's `CA_ADDRESS`; default there: the XDS address, istiod on 15012). */
  readonly address: string;
  /** PEM roots that sign the CA server's TLS certificate and the mesh certificates it issues. */
  readonly rootCertPem: string;
  /** The service-account token, read per call (projected tokens are rotated on disk). */
  readonly token: () => string;
  /** TLS server name to verify, when the address is an IP (e.g. `istiod.istio-system.svc`). */
  readonly serverName?: string;
  /** Istio's `ClusterID` call metadata (multi-cluster CAs route on it). */
  readonly clusterId?: string;
  readonly timeoutMs?: number;
}

export class IstioCaClient implements CertIssuer {
  readonly rootCertPem: string;
  private readonly client: grpc.Client;
  private readonly req = codec('istio.v1.auth.IstioCertificateRequest');
  private readonly res = codec('istio.v1.auth.IstioCertificateResponse');

  constructor(private readonly opts: IstioCaClientOptions) {
    this.rootCertPem = opts.rootCertPem;
    this.client = new grpc.Client(
      opts.address,
      grpc.credentials.createSsl(Buffer.from(opts.rootCertPem)),
      opts.serverName ? { 'grpc.ssl_target_name_override': opts.serverName, 'grpc.default_authority': opts.serverName } : {},
    );
  }

  async issue(identity: SpiffeUri, opts: IssueOptions = {}): Promise<TlsMaterial> {
    const validityMs = opts.validityMs ?? DEFAULT_LEAF_VALIDITY_MS;
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    csr.setSubject([]);
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: identity }] }] }]);
    csr.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
    const chain = await this.call({ csr: forge.pki.certificationRequestToPem(csr), validity_duration: String(Math.max(1, Math.round(validityMs / 1000))) });
    const leafPem = chain[0];
    if (!leafPem) throw new Error(`CA ${this.opts.address} returned an empty certificate chain`);
    const leaf = forge.pki.certificateFromPem(leafPem);
    const san = (leaf.getExtension('subjectAltName') as { altNames?: { type: number; value?: string }[] } | null)?.altNames ?? [];
    if (!san.some((n) => n.type === 6 && n.value === identity)) throw new Error(`CA ${this.opts.address} issued a certificate without the URI SAN ${identity}`);
    // The chain without the root: peers have the root already.
    const intermediates = chain.slice(1, chain.length > 1 ? -1 : undefined);
    return {
      identity,
      certChainPem: [leafPem, ...intermediates].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''),
      keyPem,
      notBefore: leaf.validity.notBefore,
      notAfter: leaf.validity.notAfter,
    };
  }

  close(): void {
    this.client.close();
  }

  private call(request: Record<string, unknown>): Promise<string[]> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.opts.token()}`);
    if (this.opts.clusterId) md.set('ClusterID', this.opts.clusterId);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        METHOD,
        this.req.serialize,
        this.res.deserialize,
        request,
        md,
        { deadline: Date.now() + (this.opts.timeoutMs ?? 10_000) },
        (err, res) => {
          if (err) {
            reject(new Error(`CreateCertificate at ${this.opts.address}: ${err.message}`));
            return;
          }
          const chain = res?.['cert_chain'];
          resolve(Array.isArray(chain) ? chain.filter((c): c is string => typeof c === 'string') : []);
        },
      );
    });
  }
}

export { ISTIO_TOKEN_PATH } from './istio-token-path.js';

export function fileToken(path: string): () => string {
  return () => readFileSync(path, 'utf8').trim();
}
