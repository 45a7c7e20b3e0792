/**
 * Local replies to gRPC requests, as Envoy sends them (`sendLocalReply` with `is_grpc`): a
 * trailers-only response, HTTP 200, `content-type: application/grpc`, `grpc-status` mapped from
 * the HTTP status (`Grpc::Utility::httpToGrpcStatus`) and the body as `grpc-message`. A gRPC
 * client reads the status from there; a bare HTTP 404/503 would be a protocol error to it.
 */
import type { LocalReply, RequestContext } from '../filter/api.js';
import { HeaderMap } from '../filter/header-map.js';
import { ResponseState } from './local-reply.js';

/** True for `application/grpc` and its `+proto`/`+json` variants. */
export function isGrpcRequest(ctx: RequestContext): boolean {
  const ct = ctx.headers.get('content-type');
  return ct !== undefined && ct.startsWith('application/grpc');
}

/** Envoy's HTTP → gRPC status mapping for local replies. */
export function grpcStatusOf(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

export function grpcLocalResponse(reply: LocalReply): ResponseState {
  const headers = new HeaderMap();
  headers.set('content-type', 'application/grpc');
  if (reply.headers) for (const name in reply.headers) headers.set(name, reply.headers[name] as string);
  // A reply may name its gRPC status (fault filter `abort.grpcStatus`); else it follows the HTTP status.
  headers.set('grpc-status', reply.headers?.['grpc-status'] ?? String(grpcStatusOf(reply.status)));
  if (reply.body) headers.set('grpc-message', encodeURIComponent(reply.body));
  headers.set('content-length', '0');
  return new ResponseState(200, headers, true, '');
}
