/**
 * The request context built from a downstream request as Envoy's HCM would see it
 * (`x-request-id` generated when absent, `x-forwarded-proto` set when absent, an HTTP/2 `host`
 * discarded, a client's `x-forwarded-client-cert` removed), whichever inner codec parsed it.
 */
const { randomUUID } = process.getBuiltinModule('node:crypto');
import type { DestinationInfo, SourceInfo } from '../filter/api.js';
import { HttpRequestContext } from '../filter/request-context.js';
import { XFCC_HEADER } from '../../filters/xfcc/xfcc-filter.js';
import { DownstreamBody } from './downstream-body.js';
import type { DownstreamExchange } from './downstream-exchange.js';

export function requestContextOf(down: DownstreamExchange, source: SourceInfo, destination: DestinationInfo): HttpRequestContext {
  const headers = down.headers;
  let requestId = headers.get('x-request-id');
  if (!requestId) {
    requestId = randomUUID();
    headers.set('x-request-id', requestId);
  }
  if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', 'http');
  // HTTP/2: the authority is `:authority` (or, without it, `host`); a `host` field that could
  // differ from it is discarded as Envoy does (runtime `http2_discard_host_header`, RFC 9113
  // §8.3.1), so no filter, Wasm plugin or authorizer sees a second, client-chosen host.
  if (down.protocol === 'HTTP/2') headers.delete('host');
  // Envoy removes XFCC before any filter unless the HCM forwards it (`forward_client_cert_details`
  // defaults to SANITIZE, and an inner waypoint connection is never mTLS itself): a client cannot
  // hand the app, an authorizer or a Wasm plugin an identity. Istio's opt-in (the XFCC phase,
  // first in the chain) then sets the waypoint's own value.
  if (headers.has(XFCC_HEADER)) headers.delete(XFCC_HEADER);
  const ctx = new HttpRequestContext({
    method: down.method,
    authority: down.authority ?? destination.connectAuthority,
    path: down.target,
    protocol: down.protocol,
    headers,
    requestId,
    source,
    destination,
  });
  // Only ext_authz with `includeRequestBodyInCheck` reads it; one small object per body request.
  if (down.body) ctx.body = new DownstreamBody(down.body);
  return ctx;
}
