/**
 * One HTTP/2 connection of an upstream pool: a `node:http2` client session over a tunnel or
 * socket the pool opened (`createConnection` hands it over; any Duplex works, so HBONE tunnels
 * are treated as plain byte streams). Streams are multiplexed up to the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS. Until the peer's first SETTINGS arrive a session takes one
 * stream: Node sends streams beyond the peer's limit anyway, and the peer would refuse them
 * (the pool counts such a session for {@link DEFAULT_MAX_STREAMS} when deciding to open more).
 *
 * A session stops taking new streams ("draining") when it receives GOAWAY, reaches the pool's
 * `maxRequestsPerConnection`, or idles out; it closes once its last stream is done. On GOAWAY,
 * streams above the last-stream-id (or never sent) are marked refused: the peer promised not to
 * have processed them, so the router may retry them (Envoy's `refused-stream`); streams at or
 * below it run to completion.
 */
const http2 = process.getBuiltinModule('node:http2');
declare namespace http2 { export type ClientHttp2Session = import('node:http2').ClientHttp2Session; export type Settings = import('node:http2').Settings; }
import type { Duplex } from 'node:stream';
import type { H2Exchange, H2ExchangeOwner } from './h2-exchange.js';
import type { H2Request } from './h2-request.js';

/** Streams a session is expected to take before the peer's SETTINGS say (Node's default). */
export const DEFAULT_MAX_STREAMS = 100;

/** A request as the pool queues it, before a session starts it. */
export interface PooledExchange {
  readonly req: H2Request;
}

/** What the pool asks of a session, whichever client runs it (h2-upstream-choice.ts). */
export interface PooledSession {
  /** Takes no new streams. */
  readonly draining: boolean;
  /** The peer's first SETTINGS arrived. */
  readonly settled: boolean;
  readonly hasRoom: boolean;
  readonly busy: boolean;
  start(ex: PooledExchange): void;
  drain(): void;
  close(): void;
  destroy(): void;
}

export interface H2SessionOwner {
  /** The session can take more streams (one closed, or it connected). */
  sessionHasRoom(s: PooledSession): void;
  /** The peer's SETTINGS arrived: the session's real stream limit is known. */
  sessionSettled(s: PooledSession): void;
  /** The session takes no new streams any more (GOAWAY, request limit, idle). */
  sessionDraining(s: PooledSession): void;
  /** The session closed. */
  sessionGone(s: PooledSession): void;
}

export interface H2SessionOptions {
  readonly maxRequests: number | undefined;
  readonly idleTimeoutMs: number;
}

export class H2Session implements H2ExchangeOwner, PooledSession {
  /** Takes no new streams. */
  draining = false;
  /** The peer's first SETTINGS arrived. */
  settled = false;
  private readonly session: http2.ClientHttp2Session;
  private readonly active = new Set<H2Exchange>();
  private started = 0;
  private maxStreams = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    socket: Duplex,
    authority: string,
    private readonly owner: H2SessionOwner,
    private readonly opts: H2SessionOptions,
  ) {
    const session = http2.connect(`http://${authority}`, {
      createConnection: () => socket,
      settings: { enablePush: false },
    });
    this.session = session;
    session.on('remoteSettings', this.onRemoteSettings);
    session.on('goaway', this.onGoaway);
    // Stream errors are reported per stream; the session's own error only closes it.
    session.on('error', noop);
    session.on('frameError', noop);
    session.on('close', this.onClose);
    // An idle session does not keep the process alive (a busy one does, via ref()).
    session.unref();
    this.armIdle();
  }

  /** The session is destroyed: stream failures are connection failures. */
  get gone(): boolean {
    return this.session.destroyed;
  }

  get hasRoom(): boolean {
    return !this.draining && !this.closed && this.active.size < this.maxStreams && !this.session.closed && !this.session.destroyed;
  }

  get busy(): boolean {
    return this.active.size > 0;
  }

  start(ex: H2Exchange): void {
    if (this.active.size === 0) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.session.ref();
    }
    this.active.add(ex);
    this.started++;
    const max = this.opts.maxRequests;
    if (max !== undefined && max > 0 && this.started >= max) this.drain();
    ex.start(this.session, this);
  }

  streamClosed(ex: H2Exchange): void {
    if (!this.active.delete(ex)) return;
    if (this.active.size === 0) {
      this.session.unref();
      if (this.draining) {
        this.close();
        return;
      }
      this.armIdle();
    }
    if (!this.draining) this.owner.sessionHasRoom(this);
  }

  /** Takes no new streams; closes once the last one is done. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.active.size === 0) this.close();
    this.owner.sessionDraining(this);
  }

  /** Graceful: GOAWAY, in-flight streams finish. */
  close(): void {
    this.draining = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  destroy(): void {
    this.draining = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.session.destroy();
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

  private readonly onRemoteSettings = (settings: http2.Settings): void => {
    const first = !this.settled;
    this.settled = true;
    const max = settings.maxConcurrentStreams ?? (first ? DEFAULT_MAX_STREAMS : this.maxStreams);
    if (max === this.maxStreams && !first) return;
    this.maxStreams = max;
    if (first) this.owner.sessionSettled(this);
    else if (this.hasRoom) this.owner.sessionHasRoom(this);
  };

  private readonly onGoaway = (_code: number, lastStreamId: number): void => {
    // Emitted before Node closes (NO_ERROR) or destroys (any other code) the session, and
    // before nghttp2 refuses the streams above lastStreamId: mark them now.
    for (const ex of this.active) {
      const id = ex.streamId;
      if (id === undefined || id > lastStreamId) ex.refusedByGoaway = true;
    }
    this.drain();
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.owner.sessionGone(this);
  };
}

function noop(): void {}
