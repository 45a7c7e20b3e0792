/**
 * Istio 1.30's opt-in client identity for the app: with `ambient.istio.io/xfcc-include-client-identity:
 * "true"` on the waypoint Gateway, every request forwarded by the waypoint carries
 * `x-forwarded-client-cert: By=<waypoint identity>;URI=<client identity>`, replacing any value
 * the client sent (istio/istio pilot/pkg/xds/filters `WaypointXFCCClientIdentityFilter`: a header
 * mutation OVERWRITE_IF_EXISTS_OR_ADD of `By=%FILTER_STATE(io.istio.local_principal)%;
 * URI=%FILTER_STATE(io.istio.peer_principal)%`, with the HCM set to forward it). The client
 * identity is the mTLS peer of the HBONE tunnel (the client ztunnel presents the client
 * workload's certificate), so a client cannot choose it.
 *
 * A tunnel without a peer identity never reaches a waypoint (HBONE requires mTLS); should one
 * anyway, the header is removed rather than sent with an empty URI.
 */
import type { FilterFactory, HookResult, RequestContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE } from '../../src/filter/api.js';

export const XFCC_FILTER_NAME = 'istio.waypoint.xfcc_client_identity';
export const XFCC_HEADER = 'x-forwarded-client-cert';

/** `localPrincipal`: the waypoint's own SPIFFE identity (the `By` field). */
export function createXfccFactory(localPrincipal: string): FilterFactory {
  const stream: StreamFilter = {
    onRequestHeaders(ctx: RequestContext): HookResult {
      const peer = ctx.source.principal;
      if (peer === undefined || peer === '') ctx.headers.delete(XFCC_HEADER);
      else ctx.headers.set(XFCC_HEADER, `By=${localPrincipal};URI=${peer}`);
      return CONTINUE;
    },
  };
  // Stateless: one instance serves every stream.
  return { name: XFCC_FILTER_NAME, phase: 'XFCC', create: () => stream };
}
