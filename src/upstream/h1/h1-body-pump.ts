/**
 * Streams one request body onto an upstream connection: the head goes out with the first chunk
 * (one write), Content-Length bodies are checked against their length, other bodies are chunked,
 * and the body pauses while the connection's write buffer is full (resumed on 'drain').
 */
const { IncomingMessage } = process.getBuiltinModule('node:http');
import type { Duplex, Readable } from 'node:stream';
import { UpstreamH1Error } from './h1-error.js';
import type { H1Request } from './h1-request.js';

/** Chunks up to this size are copied into one buffer with their framing; larger ones are corked. */
const COALESCE_LIMIT = 16 * 1024;
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

  constructor(
    private readonly socket: Duplex,
    private readonly req: H1Request,
    private readonly body: Readable,
    private readonly keepAlive: boolean,
    private readonly owner: BodyPumpOwner,
  ) {
    this.chunked = req.contentLength === null;
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
    const parts: Buffer[] = [];
    if (!this.headSent) {
      this.headSent = true;
      parts.push(Buffer.from(this.req.head(this.keepAlive, this.req.framing(limit)), 'latin1'));
    }
    if (this.chunked) parts.push(Buffer.from(`${len.toString(16)}\r\n`, 'latin1'), chunk, CRLF);
    else parts.push(chunk);
    const ok = this.write(parts, len);
    this.req.bodySent(chunk);
    if (!ok && !this.done) this.body.pause();
  };

  private write(parts: Buffer[], payload: number): boolean {
    if (parts.length === 1) return this.socket.write(parts[0]);
    if (payload <= COALESCE_LIMIT) return this.socket.write(Buffer.concat(parts));
    this.socket.cork();
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    this.socket.uncork();
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
