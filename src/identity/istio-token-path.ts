/**
 * Istio's standard token path inside a pod (a projected token with audience `istio-ca`). Its own
 * file so the command line can name it without loading the CA client (and with it grpc-js).
 */
export const ISTIO_TOKEN_PATH = '/var/run/secrets/tokens/istio-token';
