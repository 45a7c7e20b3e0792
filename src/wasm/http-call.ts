/**
 * What the host needs to perform `proxy_http_call`: resolve an Envoy cluster name to a mesh
 * destination at call time (BAD_ARGUMENT when unknown) and send one request there. The waypoint
 * provides the real one (`mesh-http-calls.ts`); unit tests provide fakes.
 */
import type { Pair } from './header-pairs.js';

export type HttpCallResponse =
  | { readonly ok: true; readonly headers: readonly Pair[]; readonly body: Buffer; readonly trailers: readonly Pair[] }
  | { readonly ok: false; readonly reason: string };

export interface HttpCallTarget {
  /** For logs: what the cluster name resolved to. */
  readonly describe: string;
}

export interface HttpCallDispatcher {
  resolve(cluster: string): HttpCallTarget | undefined;
  /** Never rejects: a failure is `{ ok: false }` (the plugin then sees num_headers = 0). */
  send(target: HttpCallTarget, headers: readonly Pair[], body: Buffer, timeoutMs: number): Promise<HttpCallResponse>;
}

/** No upstreams at all: every cluster is unknown. */
export const NO_HTTP_CALLS: HttpCallDispatcher = {
  resolve: () => undefined,
  send: async () => ({ ok: false, reason: 'no upstreams' }),
};
