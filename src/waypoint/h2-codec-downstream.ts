/**
 * Inner HTTP/2 (prior knowledge) on an accepted tunnel through the waypoint's own codec
 * (src/http2/): one {@link ServerConnection} per tunnel reading the tunnel's 'data' chunks and
 * writing one batch per turn, each checked request handed on as an {@link H2CodecExchange}.
 * The codec answers malformed requests (RST_STREAM PROTOCOL_ERROR) and oversized heads (431)
 * before any filter, as Envoy's codec does.
 *
 * Timers: one clock per connection (`h1-connection-clock.ts`): with streams open it checks each
 * stream's last activity against the stream idle timeout; with none, the connection's against
 * the idle timeout (GOAWAY, then close). No timer per stream.
 *
 * Draining, as Envoy's connection manager does it (RFC 9113 §6.8): GOAWAY(2^31-1) first, then,
 * after {@link FINAL_GOAWAY_DELAY_MS}, the final GOAWAY naming the last stream taken; later
 * streams are refused (REFUSED_STREAM), streams in flight finish, and the connection closes when
 * it has none.
 */
import type { Duplex } from 'node:stream';
import { MAX_STREAM_ID } from '../http2/frame-types.js';
import type { RequestFields } from '../http2/request-fields.js';
import { ServerConnection, type ServerConnectionOwner } from '../http2/server-connection.js';
import type { H2ServerStream } from '../http2/server-stream.js';
import { ClockPhase, ConnectionClock, type ClockOwner } from './h1-connection-clock.js';
import { H2CodecExchange } from './h2-codec-exchange.js';
import type { HttpConnectionSource } from './http-connection.js';
import type { HttpLimits } from './http-limits.js';
import { FINAL_GOAWAY_DELAY_MS, type RunExchange } from './h2-downstream.js';

/** Inner HTTP/2 windows, raised for bulk transfers (perf-baseline pitfall 4: set both). */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;

class H2CodecConnection implements ServerConnectionOwner, ClockOwner {
  readonly server: ServerConnection;
  private readonly clock: ConnectionClock;
  private finalTimer: NodeJS.Timeout | undefined;
  /** When the last stream closed (the idle timeout counts from there). */
  private idleSince = Date.now();
  readonly headStart = 0;

  constructor(
    tunnel: Duplex,
    private readonly conn: HttpConnectionSource,
    private readonly owner: H2CodecDownstream,
    private readonly limits: HttpLimits,
  ) {
    this.server = new ServerConnection(tunnel, this, {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxRequestHeadersBytes,
      maxHeadersCount: limits.maxHeadersCount,
      streamWindow: STREAM_WINDOW,
      connectionWindow: CONNECTION_WINDOW,
    });
    this.clock = new ConnectionClock(this, { requestHeadersTimeoutMs: 0, streamIdleTimeoutMs: limits.streamIdleTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs });
    this.clock.start();
  }

  /** The drain: GOAWAY(2^31-1) now, the final GOAWAY a moment later. */
  drain(): void {
    if (this.finalTimer || this.server.closed) return;
    this.server.goAway(MAX_STREAM_ID);
    this.finalTimer = setTimeout(() => this.server.shutdown(), FINAL_GOAWAY_DELAY_MS);
    this.finalTimer.unref();
  }

  // --- ServerConnectionOwner ---

  onRequest(stream: H2ServerStream, head: RequestFields): void {
    this.owner.run(this.conn, new H2CodecExchange(stream, head));
  }

  onConnectionClose(): void {
    this.clock.stop();
    if (this.finalTimer) clearTimeout(this.finalTimer);
    this.owner.gone(this);
  }

  // --- ClockOwner ---

  get phase(): ClockPhase {
    if (this.server.closed) return ClockPhase.Off;
    return this.server.streams.size > 0 ? ClockPhase.Busy : ClockPhase.Idle;
  }

  get lastActivity(): number {
    const streams = this.server.streams;
    if (streams.size === 0) return Math.max(this.idleSince, this.server.lastActivity);
    let min = Infinity;
    for (const s of streams.values()) if (s.lastActivity < min) min = s.lastActivity;
    this.idleSince = Date.now();
    return min;
  }

  headersTimedOut(): void {
    // No header timeout on HTTP/2 (as before: nghttp2 had none); the phase is never Head.
  }

  streamIdle(): void {
    const limit = this.limits.streamIdleTimeoutMs;
    const now = Date.now();
    for (const s of [...this.server.streams.values()]) {
      if (now - s.lastActivity < limit) continue;
      s.lastActivity = now;
      const x = s.handler;
      if (x instanceof H2CodecExchange) x.idle();
    }
  }

  connectionIdle(): void {
    this.server.shutdown();
  }
}

export class H2CodecDownstream {
  private readonly conns = new Set<H2CodecConnection>();
  private draining = false;

  constructor(
    private readonly limits: HttpLimits,
    /** @internal */
    readonly run: RunExchange,
  ) {}

  get openSessions(): number {
    return this.conns.size;
  }

  /** Serves a tunnel whose first bytes are the HTTP/2 preface (possibly put back by sniffing). */
  serve(tunnel: Duplex, conn: HttpConnectionSource): void {
    const c = new H2CodecConnection(tunnel, conn, this, this.limits);
    this.conns.add(c);
    if (this.draining) c.drain();
    tunnel.resume();
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const c of this.conns) c.drain();
  }

  destroyAll(): void {
    for (const c of this.conns) c.server.destroy();
  }

  /** @internal */
  gone(c: H2CodecConnection): void {
    this.conns.delete(c);
  }
}
