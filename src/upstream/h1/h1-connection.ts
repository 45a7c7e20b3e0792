/**
 * One upstream HTTP/1.1 connection (a TCP socket or an HBONE CONNECT stream) carrying one
 * request at a time (no pipelining), reported to the request's handler through undici's classic
 * callbacks: onConnect(abort), onBodySent, onHeaders (false pauses reading until `resume()`),
 * onData (false pauses), onComplete(trailers), onError.
 *
 * A connection goes back to its pool only after a complete response, with the request body fully
 * written, when neither side asked to close, and with no byte beyond the response: anything else
 * (an early response, extra bytes, an abort, a parse error) destroys it, so no half-read
 * connection ever reaches the next request.
 */
import type { Duplex } from 'node:stream';
import { H1BodyPump, destroyBody, type BodyPumpOwner } from './h1-body-pump.js';
import { UpstreamH1Error } from './h1-error.js';
import type { H1Request } from './h1-request.js';
import { H1ResponseParser, type H1ResponseHandler } from './h1-response-parser.js';

const EMPTY = Buffer.alloc(0);

/** What a connection tells its pool. */
export interface H1ConnectionOwner {
  /** The connection finished a request and may take another (after a turn of the event loop). */
  connectionReusable(conn: H1Connection): void;
  /** The connection is gone (closed, failed, aborted): forget it. Called once. */
  connectionGone(conn: H1Connection): void;
}

export interface H1ConnectionOptions {
  readonly maxHeaderSize: number;
  /** Requests per connection (undefined: no limit). */
  readonly maxRequests: number | undefined;
}

type Sock = Duplex & { ref?: () => void; unref?: () => void };

export class H1Connection implements H1ResponseHandler, BodyPumpOwner {
  private readonly parser: H1ResponseParser;
  private current: H1Request | undefined;
  private pump: H1BodyPump | undefined;
  /** The request is fully written (head and body). */
  private sent = false;
  /** Some byte of the current request may have been written. */
  private writing = false;
  /** Unparsed bytes kept while the handler paused reading. */
  private pending: Buffer | undefined;
  private inExecute = false;
  private eof = false;
  private error: (Error & { code?: string }) | undefined;
  private gone = false;
  private resumeFn: () => void = noop;
  /** Trailers of a response that just ended inside the parser (settled after it returns). */
  private ended: { trailers: string[] | null } | undefined;
  requests = 0;
  /** A `Keep-Alive: timeout` hint of the last response, in ms. */
  keepAliveHintMs: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  idleTimeoutMs = 0;

  constructor(
    private readonly socket: Sock,
    private readonly owner: H1ConnectionOwner,
    private readonly opts: H1ConnectionOptions,
  ) {
    this.parser = new H1ResponseParser(this, opts.maxHeaderSize);
    socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    if (socket.destroyed) queueMicrotask(this.onSocketClose);
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  get destroyed(): boolean {
    return this.gone;
  }

  /** Puts `req` on this connection (it must be idle). */
  start(req: H1Request): void {
    this.current = req;
    this.sent = false;
    this.writing = false;
    this.requests++;
    this.socket.ref?.();
    this.parser.reset(req.method === 'HEAD');
    const max = this.opts.maxRequests;
    const keepAlive = !req.closeRequested && (max === undefined || this.requests < max);
    const resume = (): void => {
      if (this.current === req) this.resume();
    };
    this.resumeFn = resume;
    try {
      req.handler.onConnect?.((err?: Error) => this.abort(req, err));
    } catch (err) {
      this.fail(req, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.current !== req) return;
    this.writing = true;
    const body = req.body;
    if (body === null) {
      this.socket.write(req.head(keepAlive, req.framing(0)), 'latin1');
      this.sent = true;
    } else if (Buffer.isBuffer(body)) {
      const head = req.head(keepAlive, req.framing(body.length));
      this.socket.write(body.length <= 16 * 1024 ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1'));
      if (body.length > 16 * 1024) this.socket.write(body);
      this.sent = true;
      req.bodySent(body);
    } else {
      this.pump = new H1BodyPump(this.socket, req, body, keepAlive, this);
    }
  }

  /** Closes the connection now (pool close, idle timeout): a request on it gets an error. */
  destroy(err?: Error): void {
    if (!this.socket.destroyed) this.socket.destroy(err);
    this.release();
  }

  // --- BodyPumpOwner ---

  bodySent(): void {
    this.pump = undefined;
    this.sent = true;
  }

  bodyFailed(err: Error): void {
    this.pump = undefined;
    const req = this.current;
    if (req) this.fail(req, err);
  }

  // --- H1ResponseHandler (called by the parser) ---

  // A handler may abort from inside a report: the parser is then stopped (paused) at once.

  onResponseHead(status: number, headers: string[]): boolean {
    const req = this.current;
    return req !== undefined && req.handler.onHeaders?.(status, headers as unknown as Buffer[], this.resumeFn, '') !== false && this.current === req;
  }

  onResponseBody(chunk: Buffer): boolean {
    const req = this.current;
    return req !== undefined && req.handler.onData?.(chunk) !== false && this.current === req;
  }

  onResponseEnd(trailers: string[] | null): void {
    this.ended = { trailers };
  }

  // --- socket ---

  private readonly onSocketData = (chunk: Buffer): void => {
    if (!this.current) {
      // Bytes nobody asked for: the connection's state is unknown, so it cannot be reused.
      this.destroy();
      return;
    }
    if (this.pending || this.parser.isPaused) {
      this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
      this.socket.pause();
      return;
    }
    this.feed(chunk);
  };

  private feed(buf: Buffer): void {
    const req = this.current as H1Request;
    let pos: number;
    this.inExecute = true;
    try {
      pos = this.parser.execute(buf, 0);
    } catch (err) {
      this.inExecute = false;
      this.fail(req, err as Error);
      return;
    }
    this.inExecute = false;
    if (this.current !== req) return;
    if (this.ended) {
      this.settle(req, pos < buf.length);
      return;
    }
    if (this.parser.isPaused) {
      if (pos < buf.length) this.pending = buf.subarray(pos);
      this.socket.pause();
      return;
    }
    if (this.eof) this.atEof(req);
  }

  private resume(): void {
    if (!this.parser.isPaused || this.gone) return;
    this.parser.resume();
    if (this.inExecute) return;
    const buf = this.pending ?? EMPTY;
    this.pending = undefined;
    this.feed(buf);
    if (!this.parser.isPaused && !this.gone) this.socket.resume();
  }

  private readonly onSocketEnd = (): void => {
    this.eof = true;
    const req = this.current;
    if (!req) {
      this.destroy();
      return;
    }
    if (this.pending || this.parser.isPaused) return;
    this.atEof(req);
  };

  private atEof(req: H1Request): void {
    try {
      this.parser.finishAtEof();
    } catch (err) {
      this.fail(req, err as Error);
      return;
    }
    this.settle(req, false);
  }

  private readonly onSocketError = (err: Error): void => {
    this.error ??= err;
  };

  private readonly onSocketClose = (): void => {
    const req = this.current;
    if (req) {
      // A body that runs until the close ends with it (a reset too, as undici treats ECONNRESET).
      const reset = (this.error)?.code === 'ECONNRESET';
      if (this.parser.readsUntilClose && !this.pending && !this.parser.isPaused && (!this.error || reset)) this.atEof(req);
      else this.fail(req, closedError(this.error));
    }
    this.release();
  };

  /** The response ended: report it, then keep the connection or close it. */
  private settle(req: H1Request, extraBytes: boolean): void {
    const trailers = this.ended?.trailers ?? null;
    this.ended = undefined;
    const early = this.pump !== undefined;
    if (early) {
      // The upstream answered before the request body was written: stop sending it.
      this.pump?.stop();
      this.pump = undefined;
    }
    this.current = undefined;
    this.pending = undefined;
    this.keepAliveHintMs = this.parser.keepAliveHintMs;
    const max = this.opts.maxRequests;
    const reusable =
      !early && !extraBytes && !this.eof && this.sent && this.parser.keepAlive && !req.closeRequested && (max === undefined || this.requests < max);
    req.handler.onComplete?.(trailers);
    if (this.gone) return;
    if (!reusable) {
      this.destroy();
      return;
    }
    this.socket.unref?.();
    this.owner.connectionReusable(this);
  }

  private abort(req: H1Request, _err?: Error): void {
    if (this.current !== req) return;
    this.current = undefined;
    this.ended = undefined;
    if (this.pump) this.pump.stop();
    // As undici did: the body of an aborted request is not read any further.
    else if (req.body && !Buffer.isBuffer(req.body)) destroyBody(req.body);
    this.pump = undefined;
    if (this.writing) {
      this.destroy();
      return;
    }
    // Aborted in onConnect, before any byte went out: the connection is still clean.
    this.requests--;
    this.socket.unref?.();
    this.owner.connectionReusable(this);
  }

  /** Reports `err` to `req` once and closes the connection. */
  private fail(req: H1Request, err: Error): void {
    if (this.current !== req) return;
    this.current = undefined;
    this.ended = undefined;
    this.pump?.stop(err);
    this.pump = undefined;
    this.destroy();
    req.handler.onError?.(err);
  }

  private release(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.owner.connectionGone(this);
  }
}

function closedError(cause: Error | undefined): Error {
  if (cause) return cause;
  return new UpstreamH1Error('H1_CONNECTION_CLOSED', 'upstream connection closed before the response was complete');
}

function noop(): void {}
