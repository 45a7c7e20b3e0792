/**
 * Which inner HTTP/2 server a waypoint runs, chosen once at start-up: the waypoint's own codec
 * (src/http2/, the default) or Node's nghttp2 session (`H2Downstream`), kept selectable for one
 * release as a fallback — as Envoy keeps nghttp2 and oghttp2 behind a runtime flag — with the
 * environment variable `AMBIENT_H2_CODEC=nghttp2`. This file is the only place that reads it.
 */
import type { Duplex } from 'node:stream';
import { H2CodecDownstream } from './h2-codec-downstream.js';
import { H2Downstream, type RunExchange } from './h2-downstream.js';
import type { HttpConnectionSource } from './http-connection.js';
import type { HttpLimits } from './http-limits.js';

export const H2_CODEC_ENV = 'AMBIENT_H2_CODEC';

export type H2CodecName = 'own' | 'nghttp2';

/** What the proxy asks of an inner HTTP/2 server. */
export interface InnerH2Server {
  serve(tunnel: Duplex, conn: HttpConnectionSource): void;
  drain(): void;
  destroyAll(): void;
  readonly openSessions: number;
}

export function h2CodecFromEnv(env: NodeJS.ProcessEnv = process.env): H2CodecName {
  return env[H2_CODEC_ENV] === 'nghttp2' ? 'nghttp2' : 'own';
}

export function createH2Downstream(limits: HttpLimits, run: RunExchange, codec: H2CodecName = h2CodecFromEnv()): InnerH2Server {
  return codec === 'nghttp2' ? new H2Downstream(limits, run) : new H2CodecDownstream(limits, run);
}
