/**
 * The HTTP/2 connections to one upstream endpoint (HBONE CONNECT streams or TCP sockets, each
 * carrying one session: the own codec's `H2CodecSession`, or `node:http2`'s `H2Session` when
 * `AMBIENT_H2_UPSTREAM_CODEC=nghttp2`, see h2-upstream-choice.ts): a request goes on the first session with room for another
 * stream; when none has room it waits, and a new session is opened if the ones connecting (or
 * waiting for their peer's SETTINGS) cannot take the waiting requests (each is counted for
 * {@link DEFAULT_MAX_STREAMS}), within
 * `maxConnections` (sessions that still take streams; draining ones finish on the side).
 *
 * A connection that cannot be opened fails the waiting requests it was opened for, as Envoy's
 * pool purges pending streams on a connect failure (the router retries them per its policy).
 * `close` lets queued and in-flight requests finish; `destroy` ends everything at once.
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { UpstreamH2Error } from './h2-error.js';
import { H2Request } from './h2-request.js';
import { DEFAULT_MAX_STREAMS, type H2SessionOwner, type PooledExchange, type PooledSession } from './h2-session.js';
import { h2UpstreamClient, type H2UpstreamClient, type H2UpstreamCodecName } from './h2-upstream-choice.js';

export interface H2PoolOptions {
  /** Opens one connection (HBONE CONNECT stream or TCP socket); rejects with the failure. */
  readonly open: () => Promise<Duplex>;
  /** `:authority` when the request has no `host`, and the session's origin. */
  readonly authority: string;
  readonly maxConnections: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  /** Sessions without streams close after this. */
  readonly keepAliveTimeoutMs: number;
  /** Which client runs the sessions (tests); by default `AMBIENT_H2_UPSTREAM_CODEC`'s choice. */
  readonly codec?: H2UpstreamCodecName;
}

export class H2Pool implements H2SessionOwner {
  private readonly sessions = new Set<PooledSession>();
  private queue: PooledExchange[] = [];
  private queueHead = 0;
  private connecting = 0;
  private closing = false;
  private destroyed = false;
  private drained: (() => void) | undefined;
  private readonly client: H2UpstreamClient;

  constructor(private readonly opts: H2PoolOptions) {
    this.client = h2UpstreamClient(opts.codec);
  }

  /** Open sessions (tests, admin). */
  get size(): number {
    return this.sessions.size;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    if (this.closing) {
      handler.onError?.(new UpstreamH2Error('H2_POOL_CLOSED', 'upstream pool closed'));
      return;
    }
    let ex: PooledExchange;
    try {
      ex = this.client.exchange(new H2Request(options, handler, this.opts.authority));
    } catch (err) {
      handler.onError?.(err as Error);
      return;
    }
    if (this.pendingCount() === 0) {
      const s = this.withRoom();
      if (s) {
        s.start(ex);
        return;
      }
    }
    this.queue.push(ex);
    this.connectMore();
  }

  /** Closes once every queued and in-flight request is done. */
  close(): Promise<void> {
    this.closing = true;
    if (this.idle()) {
      this.closeAll();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /** Closes everything now: queued requests fail, in-flight ones see their session go. */
  destroy(): Promise<void> {
    this.closing = true;
    this.destroyed = true;
    const queued = this.takeQueued();
    for (const s of [...this.sessions]) s.destroy();
    for (const ex of queued) ex.req.handler.onError?.(new UpstreamH2Error('H2_POOL_CLOSED', 'upstream pool destroyed'));
    this.checkDrained();
    return Promise.resolve();
  }

  // --- H2SessionOwner ---

  sessionHasRoom(s: PooledSession): void {
    while (s.hasRoom) {
      const ex = this.nextQueued();
      if (!ex) break;
      s.start(ex);
    }
    this.checkDrained();
  }

  sessionSettled(s: PooledSession): void {
    this.sessionHasRoom(s);
    this.connectMore();
  }

  sessionDraining(): void {
    this.connectMore();
  }

  sessionGone(s: PooledSession): void {
    if (!this.sessions.delete(s)) return;
    this.connectMore();
    this.checkDrained();
  }

  // --- internals ---

  private withRoom(): PooledSession | undefined {
    for (const s of this.sessions) if (s.hasRoom) return s;
    return undefined;
  }

  private liveSessions(): number {
    let n = 0;
    for (const s of this.sessions) if (!s.draining) n++;
    return n;
  }

  /** Sessions connecting or waiting for their peer's SETTINGS: expected to take more streams. */
  private expected(): number {
    let n = this.connecting;
    for (const s of this.sessions) if (!s.settled && !s.draining) n++;
    return n * DEFAULT_MAX_STREAMS;
  }

  /** Opens sessions for queued requests the connecting ones will not take, within the limit. */
  private connectMore(): void {
    if (this.destroyed) return;
    // A session with room (its peer raised the limit, a stream closed) takes the queue first.
    const s = this.pendingCount() > 0 ? this.withRoom() : undefined;
    if (s) this.sessionHasRoom(s);
    const max = this.opts.maxConnections;
    while (this.pendingCount() > this.expected() && (max === undefined || this.liveSessions() + this.connecting < max)) {
      this.connecting++;
      this.opts.open().then(
        (socket) => this.opened(socket),
        (err: unknown) => this.openFailed(err),
      );
    }
  }

  private opened(socket: Duplex): void {
    this.connecting--;
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    const s = this.client.session(socket, this.opts.authority, this, {
      maxRequests: this.opts.maxRequestsPerConnection,
      idleTimeoutMs: this.opts.keepAliveTimeoutMs,
    });
    this.sessions.add(s);
    this.sessionHasRoom(s);
    // Requests beyond what this session takes may need another one.
    this.connectMore();
  }

  /** A connection could not be opened: the queued requests it was for fail with the reason. */
  private openFailed(err: unknown): void {
    this.connecting--;
    const e = err instanceof Error ? err : new Error(String(err));
    let fail = Math.min(this.pendingCount() - this.expected(), DEFAULT_MAX_STREAMS);
    while (fail-- > 0) this.nextQueued()?.req.handler.onError?.(e);
    this.connectMore();
    this.checkDrained();
  }

  private nextQueued(): PooledExchange | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const ex = this.queue[this.queueHead] as PooledExchange;
    this.queue[this.queueHead++] = undefined as unknown as PooledExchange;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return ex;
  }

  private takeQueued(): PooledExchange[] {
    const out = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    return out;
  }

  private pendingCount(): number {
    return this.queue.length - this.queueHead;
  }

  private idle(): boolean {
    if (this.pendingCount() > 0 || this.connecting > 0) return false;
    for (const s of this.sessions) if (s.busy) return false;
    return true;
  }

  private closeAll(): void {
    for (const s of [...this.sessions]) s.close();
  }

  private checkDrained(): void {
    if (!this.closing || !this.idle()) return;
    this.closeAll();
    const done = this.drained;
    this.drained = undefined;
    done?.();
  }
}
