/**
 * Streams one request body onto an upstream connection: the head goes out with the first chunk
 * (one write), Content-Length bodies are checked against their length, other bodies are chunked,
 * and the body pauses while the connection's write buffer is full (resumed on 'drain').
 *
 * The payload is never copied to frame it: a chunk's size line (and the head, with the first
 * chunk) and its CRLF go out as separate pieces of one corked write (one writev), except for
 * chunks small enough that one copy costs less than a multi-piece write.
 */
const { IncomingMessage } = process.getBuiltinModule('node:http');
import type { Duplex, Readable } from 'node:stream';
import { TurnBatch } from '../../net/turn-batch.js';
import { UpstreamH1Error } from './h1-error.js';
import type { H1Request } from './h1-request.js';

/** Chunks up to this size are copied into one buffer with their framing; larger ones are corked. */
const COALESCE_LIMIT = 1024;
const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

export interface BodyPumpOwner {
  /** The whole body was written. */
  bodySent(): void;
  /** The body failed (its stream errored or closed early, or its length was wrong). */
  bodyFailed(err: Error): void;
}

export class H1BodyPump {
  private written = 0;
  private headSent = false;
  private done = false;
  private readonly chunked: boolean;
  /** Body chunks that arrive in one turn leave as one write. */
  private readonly batch: TurnBatch;

  constructor(
    private readonly socket: Duplex,
    private readonly req: H1Request,
    private readonly body: Readable,
    private readonly keepAlive: boolean,
    private readonly owner: BodyPumpOwner,
  ) {
    this.chunked = req.contentLength === null;
    this.batch = new TurnBatch(socket);
    body.on('data', this.onData);
    body.on('end', this.onEnd);
    body.on('error', this.onError);
    body.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    if (body.readableEnded) setImmediate(this.onEnd);
    else if (body.destroyed) setImmediate(this.onClose);
    else body.resume();
  }

  /** Stops pumping (the exchange ended or the connection went); `destroyBody` as undici did. */
  stop(err?: Error): void {
    if (this.done) return;
    this.finish();
    destroyBody(this.body, err);
  }

  private finish(): void {
    this.done = true;
    this.body.off('data', this.onData);
    this.body.off('end', this.onEnd);
    this.body.off('close', this.onClose);
    // Keep a no-op error listener: a late error must not become an uncaught exception.
    this.body.off('error', this.onError);
    this.body.on('error', noop);
    this.socket.off('drain', this.onDrain);
  }

  private readonly onData = (data: Buffer | string): void => {
    if (this.done) return;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const len = chunk.length;
    if (len === 0) return;
    const limit = this.req.contentLength;
    if (limit !== null && this.written + len > limit) {
      this.fail(new UpstreamH1Error('H1_REQUEST_LENGTH_MISMATCH', 'request body longer than its content-length'));
      return;
    }
    this.written += len;
    let before: string | undefined;
    if (!this.headSent) {
      this.headSent = true;
      before = this.req.head(this.keepAlive, this.req.framing(limit));
    }
    if (this.chunked) before = before === undefined ? `${len.toString(16)}\r\n` : `${before}${len.toString(16)}\r\n`;
    const ok = this.write(before, chunk, this.chunked);
    this.req.bodySent(chunk);
    if (!ok && !this.done) this.body.pause();
  };

  /** `before` (latin1), `chunk`, then CRLF when `crlf`: one write. */
  private write(before: string | undefined, chunk: Buffer, crlf: boolean): boolean {
    const s = this.socket;
    this.batch.before(chunk.length);
    if (before === undefined && !crlf) return s.write(chunk);
    if (chunk.length <= COALESCE_LIMIT) {
      const head = before === undefined ? 0 : before.length;
      const out = Buffer.allocUnsafe(head + chunk.length + (crlf ? 2 : 0));
      if (before !== undefined) out.write(before, 0, 'latin1');
      chunk.copy(out, head);
      if (crlf) CRLF.copy(out, head + chunk.length);
      return s.write(out);
    }
    s.cork();
    if (before !== undefined) s.write(before, 'latin1');
    let ok = s.write(chunk);
    if (crlf) ok = s.write(CRLF);
    s.uncork();
    return ok;
  }

  private readonly onDrain = (): void => {
    if (!this.done) this.body.resume();
  };

  private readonly onEnd = (): void => {
    if (this.done) return;
    const limit = this.req.contentLength;
    if (limit !== null && this.written !== limit && !(this.written === 0 && limit === 0)) {
      this.fail(new UpstreamH1Error('H1_REQUEST_LENGTH_MISMATCH', 'request body shorter than its content-length'));
      return;
    }
    if (!this.headSent) this.socket.write(this.req.head(this.keepAlive, this.req.framing(0)), 'latin1');
    else if (this.chunked) this.socket.write(LAST_CHUNK);
    this.finish();
    this.owner.bodySent();
  };

  private readonly onError = (err: Error): void => {
    this.fail(new UpstreamH1Error('H1_REQUEST_BODY_FAILED', `request body failed: ${err.message}`));
  };

  private readonly onClose = (): void => {
    if (!this.done) this.fail(new UpstreamH1Error('H1_REQUEST_BODY_FAILED', 'request body closed before its end'));
  };

  private fail(err: Error): void {
    if (this.done) return;
    this.stop(err);
    this.owner.bodyFailed(err);
  }
}

function noop(): void {}

/**
 * Destroys a request body that will not be sent (further). A downstream IncomingMessage is
 * detached from its socket first, as undici does, so destroying it does not close the client's
 * connection before the waypoint answers on it.
 */
export function destroyBody(body: Readable, err?: Error): void {
  if (body.destroyed) return;
  if (body instanceof IncomingMessage) (body as { socket: unknown }).socket = null;
  body.destroy(err);
}
