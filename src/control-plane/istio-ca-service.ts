/**
 * Istio's CA API served by the local CA: `istio.v1.auth.IstioCertificateService/CreateCertificate`
 * (istio/api security/v1alpha1/ca.proto, our copy proto/istio/ca/ca.proto), as istiod serves it
 * on 15012 to ztunnel and istio-agent.
 *
 * A call carries `authorization: Bearer <token>` (a local-mesh token, mesh-token.ts), optionally
 * `ClusterID` metadata, and a PEM CSR whose subjectAltName URI is the identity wanted; a node agent
 * may also name it in `metadata.ImpersonatedIdentity`, which must then agree with the CSR. The
 * answer is `cert_chain = [leaf, root]` (leaf first, as ztunnel reads it). Refusals use the gRPC
 * codes istiod uses: UNAUTHENTICATED (no or bad token, wrong cluster), INVALID_ARGUMENT (bad CSR),
 * PERMISSION_DENIED (an identity the caller is not entitled to, see ca-entitlement.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { LocalCa } from '../identity/local-ca.js';
import { parseCsrPem } from '../identity/csr.js';
import { isSpiffeUri } from '../identity/spiffe.js';
import { codec } from '../sources/xds-protos.js';
import type { ViewSource } from '../state/view-source.js';
import { entitled } from './ca-entitlement.js';
import { describeSubject, verifyToken } from './mesh-token.js';

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
/** istiod's defaults: 24 h workload certificates; longer requests are capped (MAX_WORKLOAD_CERT_TTL 90 d, ours shorter). */
const DEFAULT_TTL_S = 24 * 3600;
const MAX_TTL_S = 7 * 24 * 3600;

export interface IstioCaServiceOptions {
  readonly ca: LocalCa;
  readonly view: ViewSource;
  readonly tokenKey: Buffer;
  /** The cluster this CA serves (`CLUSTER_ID`; Istio's default `Kubernetes`). */
  readonly clusterId: string;
  /** One line per issued or refused certificate. */
  readonly log?: (line: string) => void;
}

export interface CaDecision {
  readonly identity?: string;
  readonly caller?: string;
  readonly code: grpc.status;
}

/** Registers CreateCertificate on `server`; returns the decisions made (for tests and admin). */
export function addIstioCaService(server: grpc.Server, opts: IstioCaServiceOptions): CaDecision[] {
  const req = codec('istio.v1.auth.IstioCertificateRequest');
  const res = codec('istio.v1.auth.IstioCertificateResponse');
  const decisions: CaDecision[] = [];
  const log = opts.log ?? (() => undefined);
  server.register(
    CREATE_CERTIFICATE_PATH,
    (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
      const refuse = (code: grpc.status, details: string, d: Omit<CaDecision, 'code'> = {}): void => {
        decisions.push({ ...d, code });
        log(`ca: refused ${d.identity ?? '(no identity)'} for ${d.caller ?? '(unauthenticated)'}: ${details}`);
        callback({ code, details });
      };
      const auth = call.metadata.get('authorization')[0];
      const token = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
      const subject = token ? verifyToken(opts.tokenKey, token) : undefined;
      if (!subject) return refuse(grpc.status.UNAUTHENTICATED, token ? 'the token is not a token of this mesh' : 'a bearer token is required');
      const caller = describeSubject(subject);
      const cluster = call.metadata.get('clusterid')[0];
      if (cluster !== undefined && String(cluster) !== opts.clusterId) return refuse(grpc.status.UNAUTHENTICATED, `ClusterID ${String(cluster)} is not ${opts.clusterId}`, { caller });
      const parsed = parseCsrPem(typeof call.request['csr'] === 'string' ? call.request['csr'] : '');
      if (!parsed.ok) return refuse(grpc.status.INVALID_ARGUMENT, parsed.reason, { caller });
      const [identity, ...others] = parsed.csr.uris;
      if (!identity || others.length > 0 || !isSpiffeUri(identity)) return refuse(grpc.status.INVALID_ARGUMENT, 'the CSR must carry exactly one SPIFFE URI SAN', { caller });
      const impersonated = impersonatedIdentity(call.request['metadata']);
      if (impersonated !== undefined && impersonated !== identity) return refuse(grpc.status.INVALID_ARGUMENT, `ImpersonatedIdentity ${impersonated} differs from the CSR's ${identity}`, { caller, identity });
      const verdict = entitled(opts.view.current(), subject, identity);
      if (!verdict.ok) return refuse(grpc.status.PERMISSION_DENIED, verdict.reason, { caller, identity });
      const asked = Number(call.request['validity_duration'] ?? 0);
      const ttl = Number.isFinite(asked) && asked > 0 ? Math.min(asked, MAX_TTL_S) : DEFAULT_TTL_S;
      try {
        const leaf = opts.ca.certifyIdentity(identity, parsed.csr.spkiDer, { validityMs: ttl * 1000 });
        decisions.push({ caller, identity, code: grpc.status.OK });
        log(`ca: issued ${identity} to ${caller} until ${leaf.notAfter.toISOString()}`);
        callback(null, { cert_chain: [leaf.certPem, opts.ca.rootCertPem] });
      } catch (err) {
        refuse(grpc.status.INTERNAL, `signing failed: ${err instanceof Error ? err.message : String(err)}`, { caller, identity });
      }
    },
    res.serialize,
    req.deserialize,
    'unary',
  );
  return decisions;
}

/** `metadata.fields.ImpersonatedIdentity.string_value` of the request's Struct, if any. */
function impersonatedIdentity(metadata: unknown): string | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const fields = (metadata as Record<string, unknown>)['fields'];
  if (typeof fields !== 'object' || fields === null) return undefined;
  const v = (fields as Record<string, unknown>)['ImpersonatedIdentity'];
  if (typeof v !== 'object' || v === null) return undefined;
  const s = (v as Record<string, unknown>)['string_value'] ?? (v as Record<string, unknown>)['stringValue'];
  return typeof s === 'string' ? s : undefined;
}
