/**
 * The HTTP/1.1 connections to one upstream endpoint: reuses idle keep-alive connections (most
 * recently used first), opens new ones up to `maxConnections` and queues requests beyond it,
 * closes connections idle for longer than the keep-alive timeout (or, when shorter, the upstream's
 * own `Keep-Alive: timeout=N` hint less a safety margin, as undici does), and closes gracefully
 * (`close`: queued and in-flight requests finish) or at once (`destroy`).
 *
 * A connection that finished a request is offered to the next one only after a turn of the
 * event loop (setImmediate), so a close or stray bytes the upstream sent with its response are
 * seen before another request is written on it (undici waits the same way).
 */
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { H1Connection, type H1ConnectionOwner } from './h1-connection.js';
import { UpstreamH1Error } from './h1-error.js';
import { H1Request } from './h1-request.js';

export interface H1PoolOptions {
  /** Opens one connection (HBONE CONNECT stream or TCP socket); rejects with the failure. */
  readonly open: () => Promise<Duplex>;
  /** `host` when the request has none. */
  readonly defaultHost: string;
  readonly maxConnections: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
  /** Idle connections close after this. */
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderSize: number;
}

/** undici's defaults for a response's Keep-Alive hint: less 2 s, at most 10 min. */
const KEEPALIVE_HINT_MARGIN_MS = 2_000;
const KEEPALIVE_MAX_MS = 600_000;

export class H1Pool implements H1ConnectionOwner {
  private readonly conns = new Set<H1Connection>();
  /** Idle connections, most recently used last. */
  private readonly idle: H1Connection[] = [];
  private queue: H1Request[] = [];
  private queueHead = 0;
  private connecting = 0;
  /** Connections waiting their turn of the event loop before taking another request. */
  private cooling = 0;
  private closing = false;
  private destroyed = false;
  private drained: (() => void) | undefined;

  constructor(private readonly opts: H1PoolOptions) {
  }

  /** Open connections (tests, admin). */
  get size(): number {
    return this.conns.size;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    if (this.closing || this.destroyed) {
      handler.onError?.(new UpstreamH1Error('H1_POOL_CLOSED', 'upstream pool closed'));
      return;
    }
    let req: H1Request;
    try {
      req = new H1Request(options, handler, this.opts.defaultHost);
    } catch (err) {
      handler.onError?.(err as Error);
      return;
    }
    const conn = this.idle.pop();
    if (conn) {
      conn.start(req);
      return;
    }
    this.queue.push(req);
    this.connectMore();
  }

  /** Closes once every queued and in-flight request is done. */
  close(): Promise<void> {
    this.closing = true;
    if (this.pendingCount() === 0 && this.busyCount() === 0) {
      this.closeIdle();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /** Closes everything now: queued requests fail, in-flight ones see their connection close. */
  destroy(): Promise<void> {
    this.closing = true;
    this.destroyed = true;
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const c of [...this.conns]) c.destroy();
    for (const r of queued) r.handler.onError?.(new UpstreamH1Error('H1_POOL_CLOSED', 'upstream pool destroyed'));
    this.checkDrained();
    return Promise.resolve();
  }

  // --- H1ConnectionOwner ---

  connectionReusable(conn: H1Connection): void {
    const hint = conn.keepAliveHintMs;
    if (hint !== undefined && hint - KEEPALIVE_HINT_MARGIN_MS <= 0) {
      conn.destroy();
      return;
    }
    this.cooling++;
    setImmediate(() => {
      this.cooling--;
      if (!conn.destroyed) this.offer(conn);
      else this.connectMore();
    });
  }

  connectionGone(conn: H1Connection): void {
    if (!this.conns.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.connectMore();
    this.checkDrained();
  }

  // --- internals ---

  /** `conn` can take a request: the next queued one, or it waits idle. */
  private offer(conn: H1Connection): void {
    const req = this.nextQueued();
    if (req) {
      conn.start(req);
      return;
    }
    if (this.closing) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    this.armIdleTimer(conn);
    this.checkDrained();
  }

  private armIdleTimer(conn: H1Connection): void {
    const hint = conn.keepAliveHintMs;
    // The configured idle timeout, shortened to what the upstream said it keeps connections for.
    const configured = this.opts.keepAliveTimeoutMs;
    const ms = hint === undefined ? configured : Math.min(configured, hint - KEEPALIVE_HINT_MARGIN_MS, KEEPALIVE_MAX_MS);
    if (conn.idleTimer && conn.idleTimeoutMs === ms) {
      conn.idleTimer.refresh();
      return;
    }
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimeoutMs = ms;
    conn.idleTimer = setTimeout(this.onIdleTimeout, ms, conn);
    conn.idleTimer.unref();
  }

  private readonly onIdleTimeout = (conn: H1Connection): void => {
    // The timer is re-armed, not cancelled, when a connection gets busy: ignore it then.
    if (!conn.busy && this.idle.includes(conn)) conn.destroy();
  };

  private nextQueued(): H1Request | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const req = this.queue[this.queueHead] as H1Request;
    this.queue[this.queueHead++] = undefined as unknown as H1Request;
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return req;
  }

  private pendingCount(): number {
    return this.queue.length - this.queueHead;
  }

  private busyCount(): number {
    let n = 0;
    for (const c of this.conns) if (c.busy) n++;
    return n;
  }

  /** Opens connections for queued requests no connection is about to take, within the limit. */
  private connectMore(): void {
    if (this.destroyed) return;
    const max = this.opts.maxConnections;
    while (this.pendingCount() > this.connecting + this.cooling && (max === undefined || this.conns.size + this.connecting < max)) {
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
    const conn = new H1Connection(socket, this, { maxHeaderSize: this.opts.maxHeaderSize, maxRequests: this.opts.maxRequestsPerConnection });
    this.conns.add(conn);
    this.offer(conn);
  }

  /** A connection could not be opened: the oldest queued request fails with the reason. */
  private openFailed(err: unknown): void {
    this.connecting--;
    const req = this.nextQueued();
    req?.handler.onError?.(err instanceof Error ? err : new Error(String(err)));
    this.connectMore();
    this.checkDrained();
  }

  private closeIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }

  private checkDrained(): void {
    if (!this.closing || this.pendingCount() > 0 || this.connecting > 0 || this.busyCount() > 0) return;
    this.closeIdle();
    const done = this.drained;
    this.drained = undefined;
    done?.();
  }
}
