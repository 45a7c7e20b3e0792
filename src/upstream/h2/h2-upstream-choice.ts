/**
 * Which HTTP/2 client the upstream pools run, chosen once per pool: the waypoint's own codec
 * (src/http2/client-connection.ts, the default) or Node's nghttp2 session (`H2Session`), kept
 * selectable for one release as a fallback — as Envoy keeps nghttp2 and oghttp2 behind a runtime
 * flag — with the environment variable `AMBIENT_H2_UPSTREAM_CODEC=nghttp2`. This file is the
 * only place that reads it (the inner server's switch is src/waypoint/h2-downstream-choice.ts).
 */
import type { Duplex } from 'node:stream';
import { H2CodecExchange } from './h2-codec-exchange.js';
import { H2CodecSession } from './h2-codec-session.js';
import { H2Exchange } from './h2-exchange.js';
import type { H2Request } from './h2-request.js';
import { H2Session, type H2SessionOptions, type H2SessionOwner, type PooledExchange, type PooledSession } from './h2-session.js';

export const H2_UPSTREAM_CODEC_ENV = 'AMBIENT_H2_UPSTREAM_CODEC';

export type H2UpstreamCodecName = 'own' | 'nghttp2';

/** How a pool makes its exchanges and sessions. */
export interface H2UpstreamClient {
  exchange(req: H2Request): PooledExchange;
  session(socket: Duplex, authority: string, owner: H2SessionOwner, opts: H2SessionOptions): PooledSession;
}

export function h2UpstreamCodecFromEnv(env: NodeJS.ProcessEnv = process.env): H2UpstreamCodecName {
  return env[H2_UPSTREAM_CODEC_ENV] === 'nghttp2' ? 'nghttp2' : 'own';
}

const OWN: H2UpstreamClient = {
  exchange: (req) => new H2CodecExchange(req),
  session: (socket, _authority, owner, opts) => new H2CodecSession(socket, owner, opts),
};

const NGHTTP2: H2UpstreamClient = {
  exchange: (req) => new H2Exchange(req),
  session: (socket, authority, owner, opts) => new H2Session(socket, authority, owner, opts),
};

export function h2UpstreamClient(codec: H2UpstreamCodecName = h2UpstreamCodecFromEnv()): H2UpstreamClient {
  return codec === 'nghttp2' ? NGHTTP2 : OWN;
}
