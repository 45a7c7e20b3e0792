/**
 * HTTP inside HBONE tunnels: parses HTTP/1.1 or HTTP/2 prior knowledge from an accepted tunnel
 * stream and runs each request as an {@link HttpExchange}.
 *
 * The codecs are Node's own: one `http.Server` and one `http2.Server`, never listening, fed each
 * tunnel with `emit('connection', stream)` (as Envoy's HCM runs over the decapsulated CONNECT
 * stream). Tunnel streams arrive hardened against the Node 20 pitfalls of doing this — corrupt
 * corked writes (pitfall 1) and missing socket methods (pitfall 2) — by src/hbone/tunnel-stream.ts.
 * Per-tunnel facts (service, peer) are found from the request's socket or HTTP/2 session.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { refuseMalformed } from './h2-downstream-exchange.js';
import { H2FieldCounter } from './h2-field-count.js';
import type { DownstreamResponse } from './downstream-request.js';
import type { ExchangeDeps, HttpConnection } from './http-exchange.js';
import { HttpExchange } from './http-exchange.js';
import type { HttpLimits } from './http-limits.js';
import { acceptableTarget, httpLimits } from './http-limits.js';
import { closeWhenIdle } from './session-idle-timeout.js';
import { watchStreamIdle } from './stream-idle-timeout.js';

/** Inner HTTP/2 windows, raised for bulk transfers (perf-baseline pitfall 4: set both). */
const INNER_H2_STREAM_WINDOW = 1024 * 1024;
const INNER_H2_CONNECTION_WINDOW = 16 * 1024 * 1024;

export type InnerHttpProtocol = 'http1' | 'http2';

export class HttpProxy {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  /** Tunnel (HTTP/1) or HTTP/2 session → the facts its requests share. */
  private readonly connections = new WeakMap<object, HttpConnection>();
  /** Set only while `emit('connection')` runs: the h2 server creates its session synchronously. */
  private pendingH2: { conn: HttpConnection; fields: H2FieldCounter } | undefined;
  /** HTTP/2 session → the count of fields its client sent per header block. */
  private readonly fieldCounts = new WeakMap<object, H2FieldCounter>();
  private readonly tunnels = new Set<Duplex>();
  /** HTTP/1 tunnels → requests in flight on them; idle ones can be closed at once when draining. */
  private readonly busyH1 = new Map<Duplex, number>();
  /** HTTP/1 responses in flight, so draining can mark them `connection: close`. */
  private readonly activeH1 = new Map<http.ServerResponse, Duplex>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private closing = false;
  /** Set at the drain deadline: anything still arriving is refused. */
  private forced = false;
  /** HTTP/1 tunnels that have served at least one request (idle ones may be closed on drain). */
  private readonly servedH1 = new WeakSet<Duplex>();

  private readonly deps: ExchangeDeps;
  readonly limits: HttpLimits;
  /** HTTP/1 tunnels waiting for a request's headers → the timer that answers 408 (slowloris). */
  private readonly headerTimers = new Map<Duplex, NodeJS.Timeout>();

  constructor(deps: ExchangeDeps, limits?: Partial<HttpLimits>) {
    this.deps = { ...deps, onDone: (_req, res) => this.onExchangeDone(res) };
    this.limits = httpLimits(limits);
    this.h1 = http.createServer(
      {
        keepAliveTimeout: this.limits.idleTimeoutMs,
        // Envoy has no request timeout by default; Node's 300 s would cut long uploads.
        requestTimeout: 0,
        // Envoy's default `max_request_headers_kb` (60 KiB); Node's 16 KiB would refuse more.
        maxHeaderSize: this.limits.maxRequestHeadersBytes,
      },
      this.onH1Request,
    );
    // Node silently drops headers past this count; one more than the limit lets us see a breach
    // and refuse it (Envoy answers 431) instead of forwarding a truncated request.
    this.h1.maxHeadersCount = this.limits.maxHeadersCount + 1;
    // A client that half-closes after its request still gets the response (pitfall 3); without
    // this Node's HTTP server aborts the request on the client's FIN. (Not in @types/node.)
    (this.h1 as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    this.h1.on('clientError', onClientError);
    this.h2 = http2.createServer(
      {
        settings: {
          initialWindowSize: INNER_H2_STREAM_WINDOW,
          maxHeaderListSize: this.limits.maxRequestHeadersBytes,
          maxConcurrentStreams: this.limits.maxConcurrentStreams,
        },
        // Pseudo-headers count here too; past it nghttp2 resets the stream.
        maxHeaderListPairs: this.limits.maxHeadersCount + 8,
      },
      this.onH2Request,
    );
    this.h2.on('session', this.onH2Session);
    this.h2.on('sessionError', ignore);
  }

  /**
   * Serves HTTP on an accepted tunnel. The stream may be paused with bytes put back (after
   * sniffing); it is resumed here.
   */
  serve(stream: Duplex, protocol: InnerHttpProtocol, conn: HttpConnection): void {
    // A tunnel that died while being sniffed never gets a 'close' again: do not track it. One
    // accepted just before a drain began is still served (its request is likely already on the
    // wire): HTTP/1 with `connection: close`, HTTP/2 with GOAWAY after its first stream.
    if (this.forced || stream.destroyed) {
      stream.destroy();
      return;
    }
    this.tunnels.add(stream);
    stream.once('close', () => this.tunnels.delete(stream));
    if (protocol === 'http1') {
      this.connections.set(stream, conn);
      this.h1.emit('connection', stream);
      this.watchHeaders(stream);
      stream.resume();
      return;
    }
    // Node's session would read a net.Socket natively, past the field counter: read it as a JS
    // stream like an HBONE tunnel (only tests serve plain sockets).
    const source = stream instanceof net.Socket ? Duplex.from({ readable: stream, writable: stream }) : stream;
    const fields = new H2FieldCounter();
    // Before the session's own listener: each block is counted before Node surfaces it.
    source.on('data', fields.push);
    this.pendingH2 = { conn, fields };
    try {
      this.h2.emit('connection', source);
    } finally {
      this.pendingH2 = undefined;
    }
    source.resume();
  }

  /** Open tunnels carrying HTTP (tests, admin). */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /**
   * Drains: HTTP/2 sessions get GOAWAY; HTTP/1 tunnels close once idle (responses in flight end
   * with `connection: close`); whatever is left at the deadline is destroyed.
   */
  async close(deadlineMs: number): Promise<void> {
    this.drain();
    const deadline = Date.now() + deadlineMs;
    while (this.tunnels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.forced = true;
    for (const t of this.tunnels) t.destroy();
    for (const s of this.sessions) s.destroy();
  }

  /**
   * Starts draining without a deadline: HTTP/2 sessions get GOAWAY; HTTP/1 has no GOAWAY, so
   * responses in flight say `connection: close` and tunnels that already served a request and
   * sit idle end now. A tunnel that has not yet served its first request keeps it: closing it
   * would drop a request the client may have sent already (it ends after that one response).
   */
  drain(): void {
    if (this.closing) return;
    this.closing = true;
    for (const s of this.sessions) if (!s.closed) s.close();
    for (const res of this.activeH1.keys()) if (!res.headersSent) res.shouldKeepAlive = false;
    for (const t of this.tunnels) if (this.servedH1.has(t) && !this.busyH1.has(t)) t.end();
  }

  private onExchangeDone(res: DownstreamResponse): void {
    // Only HTTP/1 responses are tracked; an HTTP/2 one is simply not in the set.
    // The tunnel as recorded at the request: by now Node may have detached `req.socket` (null).
    const tunnel = this.activeH1.get(res as http.ServerResponse);
    if (tunnel === undefined) return;
    this.activeH1.delete(res as http.ServerResponse);
    const n = (this.busyH1.get(tunnel) ?? 1) - 1;
    if (n > 0) {
      this.busyH1.set(tunnel, n);
      return;
    }
    this.busyH1.delete(tunnel);
    this.servedH1.add(tunnel);
    if (this.closing && !tunnel.destroyed) tunnel.end();
  }

  /**
   * Slowloris: a request's headers must be complete within `requestHeadersTimeoutMs` of the
   * tunnel opening, or of the first byte after an idle keep-alive; else 408 and close. (Node's own
   * `headersTimeout` only runs on servers that listen, and these are fed tunnels.)
   */
  private watchHeaders(tunnel: Duplex): void {
    const arm = (): void => {
      if (this.headerTimers.has(tunnel) || this.busyH1.has(tunnel) || tunnel.destroyed) return;
      const t = setTimeout(() => {
        this.headerTimers.delete(tunnel);
        if (this.busyH1.has(tunnel) || tunnel.destroyed) return;
        tunnel.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        lingerThenReset(tunnel);
      }, this.limits.requestHeadersTimeoutMs);
      t.unref();
      this.headerTimers.set(tunnel, t);
    };
    arm();
    tunnel.on('data', arm);
    tunnel.once('close', () => this.clearHeaderTimer(tunnel));
  }

  private clearHeaderTimer(tunnel: Duplex): void {
    const t = this.headerTimers.get(tunnel);
    if (t === undefined) return;
    clearTimeout(t);
    this.headerTimers.delete(tunnel);
  }

  private readonly onH1Request = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const conn = this.connections.get(req.socket);
    if (!conn) {
      res.destroy();
      return;
    }
    this.clearHeaderTimer(req.socket);
    // Codec-level refusals (Envoy's codec answers these before any filter runs).
    if (req.rawHeaders.length / 2 > this.limits.maxHeadersCount) {
      refuse(req, res, 431, 'Request Header Fields Too Large');
      return;
    }
    if (!acceptableTarget(req.method ?? '', req.url ?? '', req.headers.host) || hostLines(req.rawHeaders) > 1) {
      refuse(req, res, 400, 'Bad Request');
      return;
    }
    if (this.closing) res.shouldKeepAlive = false;
    const tunnel = req.socket as Duplex;
    this.busyH1.set(tunnel, (this.busyH1.get(tunnel) ?? 0) + 1);
    this.activeH1.set(res, tunnel);
    const exchange = new HttpExchange(this.deps, conn, req, res, 'HTTP/1.1');
    watchStreamIdle(exchange, res, this.limits.streamIdleTimeoutMs);
    exchange.start();
  };

  private readonly onH2Session = (session: http2.ServerHttp2Session): void => {
    const pending = this.pendingH2;
    if (!pending) {
      session.destroy();
      return;
    }
    this.connections.set(session, pending.conn);
    this.fieldCounts.set(session, pending.fields);
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', ignore);
    session.setLocalWindowSize(INNER_H2_CONNECTION_WINDOW);
    closeWhenIdle(session, this.limits.idleTimeoutMs);
    if (this.closing) goawayAfterFirstStream(session);
  };

  private readonly onH2Request = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    const session = req.stream.session as object;
    const conn = this.connections.get(session);
    const fields = this.fieldCounts.get(session);
    if (!conn || !fields) {
      res.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (!wholeBlock(fields, req.stream, req.rawHeaders)) return;
    req.stream.once('trailers', (_h: unknown, _f: unknown, raw: string[]) => wholeBlock(fields, req.stream, raw));
    if (req.rawHeaders.length / 2 > this.limits.maxHeadersCount + 4) {
      res.writeHead(431, { 'content-type': 'text/plain' });
      res.end('Request Header Fields Too Large');
      return;
    }
    const exchange = new HttpExchange(this.deps, conn, req, res, 'HTTP/2');
    watchStreamIdle(exchange, res, this.limits.streamIdleTimeoutMs);
    exchange.start();
  };
}

/**
 * RFC 9113 §8.2.1: a request with a field Node's codec dropped (CR, LF, NUL, an invalid name, edge
 * whitespace) is malformed: the stream is reset with PROTOCOL_ERROR, never served without it.
 */
function wholeBlock(fields: H2FieldCounter, stream: http2.ServerHttp2Stream, raw: readonly string[]): boolean {
  if (fields.take(stream.id ?? 0) === raw.length / 2) return true;
  refuseMalformed(stream);
  return false;
}

/** How long a session opened during a drain waits for its first stream before GOAWAY. */
const LATE_SESSION_GRACE_MS = 1000;

/**
 * A session that began while draining: its first request is probably in the bytes already
 * read, so GOAWAY goes out once that stream has been taken (or after a short grace), not before.
 */
function goawayAfterFirstStream(session: http2.ServerHttp2Session): void {
  const timer = setTimeout(() => close(), LATE_SESSION_GRACE_MS);
  timer.unref();
  const close = (): void => {
    clearTimeout(timer);
    if (!session.closed && !session.destroyed) session.close();
  };
  session.once('stream', () => setImmediate(close));
}

/**
 * Host header lines. RFC 9112 §3.2: more than one is a 400; Node keeps the first silently, and
 * a proxy routing on one while an app reads the other is a smuggling vector.
 */
function hostLines(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

/** A request refused by the codec: answered, never forwarded, and the tunnel closes after it. */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string): void {
  // The request's socket, not the response's: a pipelined request's response is not attached to
  // the socket until the responses before it finish (res.socket is null then).
  const tunnel = req.socket as Duplex | null;
  res.shouldKeepAlive = false;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(body.length), connection: 'close' });
  res.end(body);
  // Whatever follows in the tunnel is not parsed as another request.
  if (tunnel) lingerThenReset(tunnel);
}

/**
 * A request that is not HTTP: answer 400 as Envoy's codec does (431 when the request line and
 * headers overflow the size limit), then close the tunnel.
 */
function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (socket.destroyed) return;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  } else {
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nBad Request');
  }
  lingerThenReset(socket);
}

/** How long a tunnel that got a 400 may keep sending before it is reset. */
const LINGER_MS = 2000;

/**
 * A lingering close: the parser is gone, but the client may still be sending the rest of a bad
 * request. Reading and discarding it lets the client finish and see the 400 (a tunnel nobody
 * reads stalls on flow control forever); a client that keeps sending is reset after LINGER_MS.
 */
function lingerThenReset(socket: Duplex): void {
  socket.on('data', discard);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function discard(): void {
  // Input after a fatal parse error is read only to be dropped.
}

function ignore(): void {
  // Session errors end in 'close'; the exchanges on it see their streams reset.
}
