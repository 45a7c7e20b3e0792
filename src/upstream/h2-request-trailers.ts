/**
 * Request trailers and `:scheme` on HTTP/2 upstream requests: how the exchange tells the HTTP/2
 * client (./h2/) what to send besides the caller's header list and body.
 *
 * - A request body stream is tagged with where its trailers come from once it has ended
 *   ({@link attachRequestTrailers}); the client opens such streams with Node's `waitForTrailers`
 *   and sends them when Node asks ('wantTrailers', after the body's last byte). A body without
 *   trailers ends with an empty DATA frame carrying END_STREAM.
 * - A request's `:scheme` other than `http` travels as {@link UPSTREAM_SCHEME_HEADER}, which the
 *   client turns back into `:scheme` (so a plugin's `:scheme` edit reaches the upstream).
 */
import type { OutgoingHttpHeaders } from 'node:http';

/**
 * A request header the waypoint adds (HTTP/2 upstreams only) when the request's `:scheme` is not
 * `http`; the HTTP/2 client sends it as `:scheme`. It never goes on the wire.
 */
export const UPSTREAM_SCHEME_HEADER = 'x-ambient-internal-scheme';

/** Set on a request body stream: where its trailers come from once it has ended. */
export const REQUEST_TRAILERS = Symbol('ambient.requestTrailers');

/** The trailers of one request body, known once the body has ended. */
export interface RequestTrailerSource {
  /** The trailers to send, or undefined for none. Called once, after the body's last byte. */
  upstreamTrailers(): OutgoingHttpHeaders | undefined;
}

type TaggedBody = { [REQUEST_TRAILERS]?: RequestTrailerSource };

/** Marks `body` as carrying the trailers `source` will give once it ends; returns `body`. */
export function attachRequestTrailers<B extends object | null>(body: B, source: RequestTrailerSource | undefined): B {
  if (body && source) (body as TaggedBody)[REQUEST_TRAILERS] = source;
  return body;
}
