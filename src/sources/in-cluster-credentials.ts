/**
 * The in-cluster service account as Kubernetes API credentials, read the way client-go's
 * `rest.InClusterConfig` and `@kubernetes/client-node`'s `loadFromCluster` read it: the server from
 * `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the CA from `ca.crt`, a bearer token from
 * `token`, re-read at most every 60 s so a rotated (projected) token is picked up.
 *
 * Why not client-node's KubeConfig: loading that package (its generated API models) costs a role
 * ~55 MiB of anonymous memory and ~0.8 s at start, and a pod needs only these two files
 * (docs/performance.md, "Session 5: memory"). Any other source of credentials (a kubeconfig file,
 * `KUBECONFIG`, `~/.kube/config`: exec plugins, OIDC, client certificates) still goes through
 * client-node; {@link inClusterApplies} decides, in client-node's `loadFromDefault` order.
 */
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
import type { RequestOptions } from 'node:https';
const { isIPv6 } = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');
import type { KubeCredentials } from './kube-credentials.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REREAD_MS = 60_000;

/**
 * True when client-node's `loadFromDefault` would pick the in-cluster service account: no
 * `KUBECONFIG`, no `$HOME/.kube/config`, and the service-account token exists.
 */
export function inClusterApplies(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): boolean {
  if (env['KUBECONFIG']) return false;
  const home = env['HOME'];
  if (home && existsSync(path.join(home, '.kube', 'config'))) return false;
  return existsSync(path.join(dir, 'token'));
}

export class InClusterCredentials implements KubeCredentials {
  private readonly server: string;
  private token: string | undefined;
  private readAt = 0;

  /** Throws when the service host or port is missing or malformed (the caller reports it). */
  constructor(
    env: NodeJS.ProcessEnv,
    private readonly dir = SERVICE_ACCOUNT_DIR,
    private readonly now: () => number = Date.now,
  ) {
    const host = env['KUBERNETES_SERVICE_HOST'];
    const port = env['KUBERNETES_SERVICE_PORT'];
    if (!host || !port || !/^\d{1,5}$/.test(port)) throw new Error('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set');
    // client-node speaks plain HTTP to the ports a local proxy uses; every real API server is TLS.
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    this.server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    if (!URL.canParse(this.server)) throw new Error(`in-cluster: ${this.server} is not a valid server URL`);
  }

  getCurrentCluster(): { readonly server: string } {
    return { server: this.server };
  }

  /** The CA and the token are read on the request path, so a missing file fails that request, not the process. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    opts.ca = readFileSync(path.join(this.dir, 'ca.crt'));
    const t = this.now();
    if (this.token === undefined || t - this.readAt > TOKEN_REREAD_MS) {
      this.token = readFileSync(path.join(this.dir, 'token'), 'utf8').trim();
      this.readAt = t;
    }
    if (this.token !== '') opts.headers = { ...(opts.headers as Record<string, string> | undefined), authorization: `Bearer ${this.token}` };
    return Promise.resolve();
  }
}
