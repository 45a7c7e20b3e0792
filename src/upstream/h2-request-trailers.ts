/**
 * Request trailers on HTTP/2 upstream connections. undici 7 cannot send request trailers (its
 * HTTP/2 writer ends the stream with the last DATA frame: "TODO: add support for sending
 * trailers" in client-h2.js), while Envoy forwards them, and gRPC-style clients may send them.
 *
 * So each HTTP/2 session undici opens for the waypoint's pools is adjusted once, when undici
 * reports the connection (the pool's 'connect' event fires after the session exists and before
 * any request is written on it): streams that carry a body are opened with Node's
 * `waitForTrailers`, and when Node asks for trailers ('wantTrailers', after the body's last
 * byte) the body stream that undici piped into it says which ones to send. A body without
 * trailers ends with an empty DATA frame carrying END_STREAM (what Node sends for empty
 * trailers), so nothing else changes on the wire.
 *
 * The same hook sets the upstream `:scheme` ({@link UPSTREAM_SCHEME_HEADER}).
 *
 * The session is found through undici's own `http2Session` symbol on its client. If a future
 * undici renames it, sessions stay unadjusted: requests flow as before, without trailers (the
 * integration test `wasm-trailers` would catch it).
 */
import type http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';

/**
 * A request header the waypoint adds (HTTP/2 upstreams only) when the request's `:scheme` is not
 * undici's fixed `http`; the adjusted session turns it back into `:scheme` before the stream opens,
 * so a plugin's `:scheme` edit reaches the upstream. It never goes on the wire.
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
type TrailerStream = http2.ClientHttp2Stream & { [REQUEST_TRAILERS]?: RequestTrailerSource };

const adjusted = new WeakSet<object>();
const NO_TRAILERS: OutgoingHttpHeaders = Object.freeze({});

/** Marks `body` as carrying the trailers `source` will give once it ends; returns `body`. */
export function attachRequestTrailers<B extends object | null>(body: B, source: RequestTrailerSource | undefined): B {
  if (body && source) (body as TaggedBody)[REQUEST_TRAILERS] = source;
  return body;
}

/** Makes every HTTP/2 session of `pool` able to send request trailers. Call once per pool. */
export function sendRequestTrailers(pool: Pool): void {
  pool.on('connect', onPoolConnect);
}

function onPoolConnect(_origin: URL, targets: readonly Dispatcher[]): void {
  const client = targets[targets.length - 1];
  if (!client) return;
  const session = sessionOf(client);
  if (!session || adjusted.has(session)) return;
  adjusted.add(session);
  const request = session.request.bind(session);
  session.request = (rawOrObject, options) => {
    // undici always passes a header object; Node 24's typings also allow a raw header list.
    if (Array.isArray(rawOrObject)) return request(rawOrObject, options);
    const headers = rawOrObject as http2.OutgoingHttpHeaders | undefined;
    const scheme = headers?.[UPSTREAM_SCHEME_HEADER];
    if (headers && scheme !== undefined) {
      delete headers[UPSTREAM_SCHEME_HEADER];
      headers[':scheme'] = scheme;
    }
    // A stream ended with its headers has no DATA frames, hence no trailers to wait for.
    if (options?.endStream) return request(headers, options);
    // undici never ends a stream whose body it measured as empty (its writeBuffer(null) path
    // writes nothing and does not call end()), so such a request would hang: end it with its
    // headers instead. Trailers of an empty body are lost here.
    if (headers?.['content-length'] === '0') return request(headers, { ...options, endStream: true });
    const stream = request(headers, { ...options, waitForTrailers: true }) as TrailerStream;
    stream.once('pipe', onBodyPiped);
    stream.once('wantTrailers', onWantTrailers);
    return stream;
  };
}

function sessionOf(client: Dispatcher): http2.ClientHttp2Session | undefined {
  const owner = client as unknown as Record<symbol, unknown>;
  for (const sym of Object.getOwnPropertySymbols(client)) {
    if (sym.description !== 'http2Session') continue;
    const s = owner[sym] as http2.ClientHttp2Session | null | undefined;
    return s && typeof s.request === 'function' ? s : undefined;
  }
  return undefined;
}

/** undici pipes the request body into the stream: remember where its trailers come from. */
function onBodyPiped(this: TrailerStream, src: TaggedBody): void {
  const source = src[REQUEST_TRAILERS];
  if (source) this[REQUEST_TRAILERS] = source;
}

function onWantTrailers(this: TrailerStream): void {
  const trailers = this[REQUEST_TRAILERS]?.upstreamTrailers();
  try {
    this.sendTrailers(trailers ?? NO_TRAILERS);
  } catch {
    // Trailers Node refuses (a connection-specific name): end the stream without them, as
    // Envoy's codec drops what it cannot encode.
    try {
      this.sendTrailers(NO_TRAILERS);
    } catch {
      this.close();
    }
  }
}
