/**
 * Responses as the HTTP exchange carries them through the response-path filters, and the local
 * replies the waypoint answers with on its own (Envoy's `sendLocalReply`): `text/plain` body,
 * explicit `content-length`, flag and details from the failure table (src/failures.ts).
 */
import type { FailureCode } from '../failures.js';
import { failureInfo } from '../failures.js';
import type { LocalReply, ResponseContext } from '../filter/api.js';
import { HeaderMap } from '../filter/header-map.js';

export class ResponseState implements ResponseContext {
  /** Trailers a filter created in the last body hook ({@link addTrailers}). */
  addedTrailers: HeaderMap | undefined;
  /** True only while the last body chunk of a response without trailers passes the filters. */
  trailersAddable = false;

  constructor(
    public status: number,
    readonly headers: HeaderMap,
    readonly local: boolean,
    /** The body of a local reply (upstream bodies stream instead). */
    readonly localBody = '',
  ) {}

  addTrailers(): HeaderMap | undefined {
    if (!this.trailersAddable) return undefined;
    return (this.addedTrailers ??= new HeaderMap());
  }
}

const BY_CODE = new Map<FailureCode, LocalReply>();

/** The local reply for a failure code, built once per code. */
export function failureReply(code: FailureCode): LocalReply {
  let r = BY_CODE.get(code);
  if (!r) {
    const f = failureInfo(code);
    r = Object.freeze({ status: f.status, body: f.body, details: f.details, ...(f.flag !== '-' ? { responseFlag: f.flag } : {}) });
    BY_CODE.set(code, r);
  }
  return r;
}

/** The response a local reply becomes, before the response-path filters see it. */
export function localResponse(reply: LocalReply): ResponseState {
  const body = reply.body ?? '';
  const headers = new HeaderMap();
  headers.set('content-type', 'text/plain');
  if (reply.headers) for (const name in reply.headers) headers.set(name, reply.headers[name] as string);
  headers.set('content-length', String(Buffer.byteLength(body)));
  return new ResponseState(reply.status, headers, true, body);
}
