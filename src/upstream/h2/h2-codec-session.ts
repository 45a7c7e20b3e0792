/**
 * One HTTP/2 connection of an upstream pool on the waypoint's own client codec
 * ({@link ClientConnection}, straight on the tunnel or socket the pool opened: no `node:http2`
 * session, no JS stream socket). It behaves towards the pool as {@link H2Session} does: one
 * stream until the peer's first SETTINGS, then up to its SETTINGS_MAX_CONCURRENT_STREAMS
 * ({@link DEFAULT_MAX_STREAMS} when it names none); draining on GOAWAY, the pool's
 * `maxRequestsPerConnection` or idleness, closing once the last stream is done. Streams above a
 * GOAWAY's last-stream-id come back to the exchange as refused (retry-safe).
 */
import type { Duplex } from 'node:stream';
import { ClientConnection, type ClientConnectionOwner } from '../../http2/client-connection.js';
import type { H2CodecExchange, H2CodecExchangeOwner } from './h2-codec-exchange.js';
import { DEFAULT_MAX_STREAMS, type H2SessionOptions, type H2SessionOwner } from './h2-session.js';

/** Our receive windows: the same as the inner server codec's (src/waypoint/h2-codec-downstream.ts). */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** A response head larger than this (decoded) fails the connection: no sane upstream sends one. */
const MAX_RESPONSE_HEADER_LIST = 256 * 1024;

type Refable = Duplex & { ref?: () => void; unref?: () => void };

export class H2CodecSession implements H2CodecExchangeOwner, ClientConnectionOwner {
  draining = false;
  settled = false;
  private readonly conn: ClientConnection;
  private readonly active = new Set<H2CodecExchange>();
  private started = 0;
  private maxStreams = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly owner: H2SessionOwner,
    private readonly opts: H2SessionOptions,
  ) {
    this.conn = new ClientConnection(socket, this, {
      streamWindow: STREAM_WINDOW,
      connectionWindow: CONNECTION_WINDOW,
      maxHeaderListSize: MAX_RESPONSE_HEADER_LIST,
    });
    // An idle connection does not keep the process alive (a busy one does).
    (socket as Refable).unref?.();
    this.armIdle();
  }

  get hasRoom(): boolean {
    return !this.draining && !this.closed && this.active.size < this.maxStreams && !this.conn.exhausted;
  }

  get busy(): boolean {
    return this.active.size > 0;
  }

  start(ex: H2CodecExchange): void {
    if (this.active.size === 0) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      (this.socket as Refable).ref?.();
    }
    this.active.add(ex);
    this.started++;
    const max = this.opts.maxRequests;
    if (max !== undefined && max > 0 && this.started >= max) this.drain();
    ex.start(this.conn, this);
  }

  streamClosed(ex: H2CodecExchange): void {
    if (!this.active.delete(ex)) return;
    if (this.active.size === 0) {
      (this.socket as Refable).unref?.();
      if (this.draining) {
        this.close();
        return;
      }
      this.armIdle();
    }
    if (!this.draining) this.owner.sessionHasRoom(this);
  }

  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.active.size === 0) this.close();
    this.owner.sessionDraining(this);
  }

  /** Graceful: GOAWAY, in-flight streams finish. */
  close(): void {
    this.draining = true;
    this.clearIdle();
    this.conn.shutdown();
  }

  destroy(): void {
    this.draining = true;
    this.clearIdle();
    this.conn.destroy();
  }

  // --- ClientConnectionOwner ---

  onPeerSettings(maxConcurrentStreams: number | undefined): void {
    const first = !this.settled;
    this.settled = true;
    const max = maxConcurrentStreams ?? (first ? DEFAULT_MAX_STREAMS : this.maxStreams);
    if (max === this.maxStreams && !first) return;
    this.maxStreams = max;
    if (first) this.owner.sessionSettled(this);
    else if (this.hasRoom) this.owner.sessionHasRoom(this);
  }

  onGoaway(): void {
    this.drain();
  }

  onConnectionClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    this.clearIdle();
    this.owner.sessionGone(this);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private armIdle(): void {
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(this.onIdle, this.opts.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private readonly onIdle = (): void => {
    this.idleTimer = undefined;
    if (this.active.size === 0) this.drain();
  };
}
