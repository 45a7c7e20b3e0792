/**
 * What the Kubernetes API transport needs from a kubeconfig: the server URL and, per request, the
 * TLS and `Authorization` options. `@kubernetes/client-node`'s KubeConfig satisfies it; so does
 * {@link InClusterCredentials}, which a pod uses without loading that package.
 */
import type { RequestOptions } from 'node:https';

export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}
