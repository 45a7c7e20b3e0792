/**
 * The local istiod's constants, in a file with no imports so the CLI can name them without loading
 * gRPC (a role that reads only files never pays for @grpc/grpc-js).
 */

/** The label the bearer-token key is derived under from the CA root key (mesh-token.ts). */
export const TOKEN_KEY_LABEL = 'local istiod bearer tokens';
/** istiod's TLS gRPC port (xDS and CA). */
export const ISTIOD_PORT = 15012;
/** Istio's default cluster name (ztunnel's and istiod's `CLUSTER_ID`). */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
