/**
 * HTTP inside HBONE tunnels: serves HTTP/1.1 or HTTP/2 prior knowledge on an accepted tunnel
 * stream and runs each request as an {@link HttpExchange}.
 *
 * HTTP/1.1 is the waypoint's own codec (src/http1/) on the tunnel's bytes, one
 * {@link H1DownstreamConnection} per tunnel. HTTP/2 is Node's `http2.Server`, never listening,
 * fed each tunnel with `emit('connection', stream)` (as Envoy's HCM runs over the decapsulated
 * CONNECT stream), its compat objects seen by the exchange through {@link H2CompatDownstream}.
 * Tunnel streams arrive hardened against the Node 20 pitfalls (src/hbone/tunnel-stream.ts).
 */
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ExchangeDeps } from './http-exchange.js';
import { fixedConnection, type HttpConnection, type HttpConnectionSource } from './http-connection.js';
import { HttpExchange } from './http-exchange.js';
import type { HttpLimits } from './http-limits.js';
import { httpLimits } from './http-limits.js';
import { closeWhenIdle } from './session-idle-timeout.js';
import { H1DownstreamConnection, type H1ConnectionOwner } from './h1-downstream-connection.js';
import type { H1DownstreamRequest } from './h1-downstream-request.js';
import { H2CompatDownstream } from './h2-compat-downstream.js';

/** Inner HTTP/2 windows, raised for bulk transfers (perf-baseline pitfall 4: set both). */
const INNER_H2_STREAM_WINDOW = 1024 * 1024;
const INNER_H2_CONNECTION_WINDOW = 16 * 1024 * 1024;

export type InnerHttpProtocol = 'http1' | 'http2';

export class HttpProxy implements H1ConnectionOwner<HttpConnectionSource> {
  private readonly h2: http2.Http2Server;
  /** HTTP/2 session → where its requests find their (current) facts. */
  private readonly connections = new WeakMap<object, HttpConnectionSource>();
  /** Set only while `emit('connection')` runs: the h2 server creates its session synchronously. */
  private pendingH2: HttpConnectionSource | undefined;
  private readonly tunnels = new Set<Duplex>();
  /** HTTP/1 tunnels → their connection. */
  private readonly h1 = new Map<Duplex, H1DownstreamConnection<HttpConnectionSource>>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private closing = false;
  /** Set at the drain deadline: anything still arriving is refused. */
  private forced = false;

  private readonly deps: ExchangeDeps;
  readonly limits: HttpLimits;

  constructor(deps: ExchangeDeps, limits?: Partial<HttpLimits>) {
    this.deps = deps;
    this.limits = httpLimits(limits);
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
   * sniffing); it is resumed here. Each request takes the facts `conn` has when it starts.
   */
  serve(stream: Duplex, protocol: InnerHttpProtocol, facts: HttpConnection | HttpConnectionSource): void {
    const conn = 'current' in facts ? facts : fixedConnection(facts);
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
      const c = new H1DownstreamConnection(stream, this, this.limits, conn);
      if (this.closing) c.drain();
      this.h1.set(stream, c);
      c.start();
      return;
    }
    this.pendingH2 = conn;
    try {
      this.h2.emit('connection', stream);
    } finally {
      this.pendingH2 = undefined;
    }
    // Node's HTTP/2 session reads a net.Socket natively and takes bytes put back by sniffing on
    // the next tick (resuming would flush them to nobody); a JS stream (an HBONE tunnel) is read
    // through 'data' events and must flow.
    if (!(stream instanceof net.Socket)) stream.resume();
  }

  /** Open tunnels carrying HTTP (tests, admin). */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /**
   * Drains, then forces at the deadline: HTTP/2 sessions get GOAWAY; HTTP/1 connections answer
   * what arrives with `connection: close` and end after it; those still idle at the deadline end
   * then (the end of the drain), those still busy are reset.
   */
  async close(deadlineMs: number): Promise<void> {
    this.drain();
    const deadline = Date.now() + deadlineMs;
    while (this.tunnels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.forced = true;
    for (const c of this.h1.values()) {
      if (c.idle) c.closeIdle();
      else c.destroy();
    }
    for (const t of this.tunnels) if (!this.h1.has(t)) t.destroy();
    for (const s of this.sessions) s.destroy();
  }

  /**
   * Starts draining without a deadline (Envoy's drain): HTTP/2 sessions get GOAWAY; HTTP/1 has
   * no GOAWAY, so every response from now on says `connection: close` and its connection ends
   * after it. Idle HTTP/1 connections stay until the drain ends ({@link close}): a client may be
   * sending a request on one right now, and it will be served.
   */
  drain(): void {
    if (this.closing) return;
    this.closing = true;
    for (const s of this.sessions) if (!s.closed) s.close();
    for (const c of this.h1.values()) c.drain();
  }

  // --- H1ConnectionOwner ---

  startExchange(req: H1DownstreamRequest, conn: HttpConnectionSource): void {
    new HttpExchange(this.deps, conn.current(), req).start();
  }

  connectionGone(tunnel: Duplex): void {
    this.h1.delete(tunnel);
  }

  // --- HTTP/2 ---

  private readonly onH2Session = (session: http2.ServerHttp2Session): void => {
    const conn = this.pendingH2;
    if (!conn) {
      session.destroy();
      return;
    }
    this.connections.set(session, conn);
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', ignore);
    session.setLocalWindowSize(INNER_H2_CONNECTION_WINDOW);
    closeWhenIdle(session, this.limits.idleTimeoutMs);
    if (this.closing) goawayAfterFirstStream(session);
  };

  private readonly onH2Request = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    const conn = this.connections.get(req.stream.session as object);
    if (!conn) {
      res.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    if (req.rawHeaders.length / 2 > this.limits.maxHeadersCount + 4) {
      res.writeHead(431, { 'content-type': 'text/plain' });
      res.end('Request Header Fields Too Large');
      return;
    }
    new HttpExchange(this.deps, conn.current(), new H2CompatDownstream(req, res, this.limits.streamIdleTimeoutMs)).start();
  };
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

function ignore(): void {
  // Session errors end in 'close'; the exchanges on it see their streams reset.
}
