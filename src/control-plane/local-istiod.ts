/**
 * The local mesh's istiod: one gRPC server with TLS (Istio's port 15012) serving the CA API
 * (istio-ca-service.ts) and the workload xDS (workload-xds-server.ts) from the local CA and the
 * mesh view, so Istio's own ztunnel can join the local mesh as it joins a cluster.
 *
 * TLS: a server certificate from the local CA for the names a client may dial (`localhost`,
 * `istiod.istio-system.svc`, the listen IP); clients trust the mesh root (ztunnel's `XDS_ROOT_CA`
 * and `CA_ROOT_CA`). Every xDS stream, like every CA call, must carry a local-mesh bearer token
 * (mesh-token.ts): istiod authenticates both the same way.
 */
import * as grpc from '@grpc/grpc-js';
import type { LocalCa } from '../identity/local-ca.js';
import type { ViewSource } from '../state/view-source.js';
import { DEFAULT_CLUSTER_ID, ISTIOD_PORT, TOKEN_KEY_LABEL } from './istiod-defaults.js';
import { addIstioCaService, type CaDecision } from './istio-ca-service.js';
import { verifyToken } from './mesh-token.js';
import { WorkloadXdsServer } from './workload-xds-server.js';

const SERVING_CERT_VALIDITY_MS = 30 * 24 * 3600_000;

export interface LocalIstiodOptions {
  readonly ca: LocalCa;
  readonly view: ViewSource;
  /** Listen host (an IP); default 127.0.0.1. */
  readonly host?: string;
  /** Default 15012; 0 picks a free port. */
  readonly port?: number;
  readonly clusterId?: string;
  readonly log?: (line: string) => void;
}

export class LocalIstiod {
  private constructor(
    private readonly server: grpc.Server,
    private readonly xds: WorkloadXdsServer,
    readonly host: string,
    readonly port: number,
    /** CA decisions, in order (tests, admin). */
    readonly caDecisions: readonly CaDecision[],
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  static async start(opts: LocalIstiodOptions): Promise<LocalIstiod> {
    const host = opts.host ?? '127.0.0.1';
    const clusterId = opts.clusterId ?? DEFAULT_CLUSTER_ID;
    const tokenKey = opts.ca.deriveSecret(TOKEN_KEY_LABEL);
    const serving = await opts.ca.issueServing(['localhost', 'istiod.istio-system.svc', host], { validityMs: SERVING_CERT_VALIDITY_MS });
    const server = new grpc.Server();
    const authenticate = (md: grpc.Metadata): boolean => {
      const auth = md.get('authorization')[0];
      const token = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
      return token !== undefined && verifyToken(tokenKey, token) !== undefined;
    };
    const xds = new WorkloadXdsServer({ view: opts.view, clusterId, authenticate, ...(opts.log ? { log: opts.log } : {}) });
    xds.register(server);
    const decisions = addIstioCaService(server, { ca: opts.ca, view: opts.view, tokenKey, clusterId, ...(opts.log ? { log: opts.log } : {}) });
    const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(serving.keyPem) }], false);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${opts.port ?? ISTIOD_PORT}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    return new LocalIstiod(server, xds, host, port, decisions);
  }

  xdsStats(): ReturnType<WorkloadXdsServer['stats']> {
    return this.xds.stats();
  }

  /** Ends the xDS streams (clients reconnect elsewhere), then stops within `deadlineMs`. */
  async close(deadlineMs = 1000): Promise<void> {
    this.xds.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, deadlineMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
