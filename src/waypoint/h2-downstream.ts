/**
 * Inner HTTP/2 (prior knowledge) on an accepted tunnel, through Node's session/stream API: one
 * server session per tunnel made with `http2.performServerHandshake` (no `http2.Server`, no
 * compat objects), each `'stream'` event checked and handed on as an {@link H2DownstreamExchange}.
 *
 * Checks before a request runs (Envoy's codec answers these before any filter):
 * - a header block with a field Node's codec dropped is malformed (RFC 9113 §8.2.1): the stream is
 *   reset with PROTOCOL_ERROR ({@link H2FieldCounter});
 * - more fields than `maxHeadersCount`: 431.
 *
 * Draining, as Envoy's connection manager does it (RFC 9113 §6.8): first a GOAWAY with the last
 * stream id 2^31-1 (no new streams please; streams already on the way are still served), then,
 * after {@link FINAL_GOAWAY_DELAY_MS}, the final GOAWAY naming the last stream taken. Streams the
 * client opens after that are refused unprocessed, so the client may retry them elsewhere; streams
 * in flight finish; a session closes once it has none.
 */
const http2 = process.getBuiltinModule('node:http2');
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
const net = process.getBuiltinModule('node:net');
const { Duplex } = process.getBuiltinModule('node:stream');
type Duplex = import('node:stream').Duplex;
import type { DownstreamExchange } from './downstream-exchange.js';
import { H2DownstreamExchange, refuseMalformed } from './h2-downstream-exchange.js';
import { H2FieldCounter } from './h2-field-count.js';
import type { HttpConnectionSource } from './http-connection.js';
import type { HttpLimits } from './http-limits.js';
import { closeWhenIdle } from './session-idle-timeout.js';

/** Inner HTTP/2 windows, raised for bulk transfers (perf-baseline pitfall 4: set both). */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** Between the drain's first GOAWAY and the final one: time for streams already sent to arrive. */
export const FINAL_GOAWAY_DELAY_MS = 1000;
const MAX_STREAM_ID = 2 ** 31 - 1;
const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Starts the exchange of one checked request (which takes `conn`'s facts as of now). */
export type RunExchange = (conn: HttpConnectionSource, downstream: DownstreamExchange) => void;

interface SessionState {
  readonly conn: HttpConnectionSource;
  readonly fields: H2FieldCounter;
}

const kState = Symbol('h2SessionState');
type Tagged = ServerHttp2Session & { [kState]?: SessionState };

export class H2Downstream {
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly options: import('node:http2').ServerOptions;
  private draining = false;

  constructor(
    private readonly limits: HttpLimits,
    private readonly run: RunExchange,
  ) {
    this.options = {
      settings: {
        initialWindowSize: STREAM_WINDOW,
        maxHeaderListSize: limits.maxRequestHeadersBytes,
        maxConcurrentStreams: limits.maxConcurrentStreams,
      },
      // Pseudo-headers count here too; past it nghttp2 resets the stream.
      maxHeaderListPairs: limits.maxHeadersCount + 8,
    };
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  /** Serves a tunnel whose first bytes are the HTTP/2 preface (possibly put back by sniffing). */
  serve(tunnel: Duplex, conn: HttpConnectionSource): void {
    // Node's session would read a net.Socket natively, past the field counter: read it as a JS
    // stream like an HBONE tunnel (only tests serve plain sockets).
    const source = tunnel instanceof net.Socket ? Duplex.from({ readable: tunnel, writable: tunnel }) : tunnel;
    const fields = new H2FieldCounter();
    // Before the session's own listener: each block is counted before Node surfaces it.
    source.on('data', fields.push);
    const session = http2.performServerHandshake(source, this.options) as Tagged;
    session[kState] = { conn, fields };
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    // Session errors end in 'close'; the exchanges on it see their streams reset.
    session.on('error', ignore);
    session.on('stream', this.onStream);
    session.setLocalWindowSize(CONNECTION_WINDOW);
    closeWhenIdle(session, this.limits.idleTimeoutMs);
    if (this.draining) goAway(session);
    source.resume();
  }

  /** Starts draining: every session (and any opened from now on) gets the two GOAWAYs. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.sessions) goAway(s);
  }

  /** The drain deadline: whatever is still open is destroyed. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
  }

  private readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]): void => {
    const state = (stream.session as Tagged | undefined)?.[kState];
    if (!state) {
      stream.on('error', ignore);
      stream.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (state.fields.take(stream.id ?? 0) !== raw.length / 2) {
      // RFC 9113 §8.2.1: a field Node dropped makes the request malformed; never serve the rest.
      refuseMalformed(stream);
      return;
    }
    if (raw.length / 2 > this.limits.maxHeadersCount + 4) {
      stream.on('error', ignore);
      stream.respond({ ':status': 431, 'content-type': 'text/plain' });
      stream.end('Request Header Fields Too Large');
      return;
    }
    this.run(state.conn, new H2DownstreamExchange(stream, headers, raw, state.fields, this.limits.streamIdleTimeoutMs));
  };
}

/**
 * RFC 9113 §6.8 graceful shutdown: GOAWAY(2^31-1) now, the final GOAWAY (the last stream taken)
 * after a delay, then the session closes as its streams finish.
 */
function goAway(session: ServerHttp2Session): void {
  if (session.closed || session.destroyed) return;
  session.goaway(NGHTTP2_NO_ERROR, MAX_STREAM_ID);
  const timer = setTimeout(() => {
    if (!session.closed && !session.destroyed) session.close();
  }, FINAL_GOAWAY_DELAY_MS);
  timer.unref();
  session.once('close', () => clearTimeout(timer));
}

function ignore(): void {
  // See the 'error' listener above.
}
