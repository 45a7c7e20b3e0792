/**
 * One HTTP/1.1 request on a downstream tunnel, as the exchange sees it ({@link DownstreamExchange}):
 * the parsed head, its body as a Readable fed by the connection's parser (pausing it stops the
 * parser, and so the tunnel), and the response written straight onto the tunnel's bytes through
 * the codec's head writer and body framing (src/http1/).
 *
 * The response head is held until the first body chunk or the end, or until the current turn of
 * the event loop is over, so a small response leaves as one write (one HTTP/2 DATA frame on the
 * HBONE stream) without delaying a head whose body is slow to come.
 */
import { PulledBody } from '../net/pulled-body.js';
type Readable = import('node:stream').Readable;
import { BodyFraming, CRLF, LAST_CHUNK, chunkPrefix, responseHead } from '../http1/head-writer.js';
import type { RequestHead } from '../http1/request-parser.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';
import { HeaderMap } from '../filter/header-map.js';

/** What a request needs from its connection. */
export interface H1RequestOwner {
  /** Writes bytes on the tunnel; false when its buffer is full ('drain' follows). */
  send(data: string | Buffer): boolean;
  /** `before`, `chunk`, `after` as one batch (one write on the tunnel when it can). */
  sendParts(before: string | undefined, chunk: Buffer, after: string | undefined): boolean;
  /** The response is complete (written and ended); `close`: the connection ends after it. */
  responseEnded(req: H1DownstreamRequest, close: boolean): void;
  /** The response cannot be completed: the connection is reset. */
  resetConnection(): void;
  /** The body's reader wants more: the parser may go on. */
  resumeInput(): void;
  /** The connection is draining: this response says `connection: close`. */
  readonly draining: boolean;
}

export class H1DownstreamRequest implements DownstreamExchange {
  readonly protocol = 'HTTP/1.1' as const;
  readonly method: string;
  readonly target: string;
  readonly authority: string | undefined;
  readonly headers: HeaderMap;
  readonly bodyless: boolean;
  readonly body: Readable | null;
  readonly minor: number;
  readonly keepAlive: boolean;
  complete = false;
  headersSent = false;
  /** The response has been ended (or the request reset). */
  done = false;
  private rawTrailers: string[] | null = null;
  private trailerMap: HeaderMap | undefined;
  private events: DownstreamEvents | undefined;
  private framing = BodyFraming.None;
  private close = false;
  /** {@link closeConnection} was called: this response ends the connection. */
  private closeRequested = false;
  /** A head not yet written (flushed with the first chunk, the end, or after this turn). */
  private heldHead: string | undefined;

  constructor(
    private readonly owner: H1RequestOwner,
    head: RequestHead,
  ) {
    this.method = head.method;
    this.target = head.target;
    this.authority = head.host;
    this.headers = HeaderMap.fromRaw(head.headers);
    this.minor = head.minor;
    this.keepAlive = head.keepAlive;
    this.bodyless = !head.hasBody;
    this.body = head.hasBody ? new PulledBody(() => owner.resumeInput()) : null;
  }

  // --- from the connection ---

  /** A body chunk from the parser; false pauses it. */
  pushBody(chunk: Buffer): boolean {
    const body = this.body as Readable;
    if (body.destroyed) return true;
    return body.push(chunk);
  }

  requestEnded(trailers: string[] | null): void {
    this.complete = true;
    this.rawTrailers = trailers;
    if (this.body && !this.body.destroyed) this.body.push(null);
  }

  /** The client went away or broke the framing mid-body. */
  requestAborted(err: Error): void {
    if (this.body && !this.complete && !this.body.destroyed) this.body.destroy(err);
  }

  drained(): void {
    if (!this.done) this.events?.downstreamDrain();
  }

  idle(): void {
    this.events?.downstreamIdle();
  }

  /** Tells the exchange it is over downstream (once, by the connection). */
  closed(finished: boolean): void {
    const events = this.events;
    this.events = undefined;
    if (!finished) this.requestAborted(new Error('the downstream connection closed'));
    events?.downstreamClosed(finished);
  }

  // --- DownstreamExchange ---

  trailers(): HeaderMap | undefined {
    if (this.trailerMap === undefined && this.rawTrailers !== null) this.trailerMap = HeaderMap.fromRaw(this.rawTrailers);
    return this.trailerMap;
  }

  attach(events: DownstreamEvents): void {
    this.events = events;
  }

  writeHead(status: number, headers: readonly string[]): boolean {
    if (this.headersSent || this.done) return false;
    const head = responseHead(status, headers, this, this.closeAfter());
    if (!head) return false;
    this.headersSent = true;
    this.framing = head.framing;
    this.close = head.close;
    this.heldHead = head.text;
    process.nextTick(flushHead, this);
    return true;
  }

  write(chunk: Buffer): boolean {
    if (this.done || chunk.length === 0) return true;
    const held = this.takeHead();
    switch (this.framing) {
      case BodyFraming.None:
        return held === undefined || this.owner.send(held);
      case BodyFraming.Chunked: {
        const prefix = chunkPrefix(chunk.length);
        return this.owner.sendParts(held === undefined ? prefix : held + prefix, chunk, CRLF);
      }
      case BodyFraming.Length:
      case BodyFraming.UntilClose:
        return this.owner.sendParts(held, chunk, undefined);
    }
  }

  end(): boolean {
    if (this.done) return true;
    const held = this.takeHead() ?? '';
    if (this.framing === BodyFraming.Chunked) this.owner.send(held + LAST_CHUNK);
    else if (held.length > 0) this.owner.send(held);
    this.finish();
    return true;
  }

  respond(status: number, headers: readonly string[], body: string): boolean {
    if (this.headersSent || this.done) return false;
    const bytes = Buffer.byteLength(body);
    const head = responseHead(status, headers, this, this.closeAfter(), bytes);
    if (!head) return false;
    this.headersSent = true;
    this.close = head.close;
    if (head.framing === BodyFraming.None || bytes === 0) this.owner.send(head.text);
    // The body as UTF-8 (its length was counted so), the head as latin1.
    else if (bytes === body.length) this.owner.send(head.text + body);
    else this.owner.sendParts(head.text, Buffer.from(body), undefined);
    this.finish();
    return true;
  }

  closeConnection(): void {
    this.closeRequested = true;
  }

  reset(): void {
    if (this.done) return;
    this.done = true;
    this.owner.resetConnection();
  }

  // --- internals ---

  private closeAfter(): boolean {
    return !this.keepAlive || this.owner.draining || this.closeRequested;
  }

  /** @internal A head whose body did not follow in the same turn goes out on its own. */
  flushHeldHead(): void {
    if (this.done) return;
    const held = this.takeHead();
    if (held !== undefined) this.owner.send(held);
  }

  private takeHead(): string | undefined {
    const h = this.heldHead;
    this.heldHead = undefined;
    return h;
  }

  private finish(): void {
    this.done = true;
    this.owner.responseEnded(this, this.close || this.framing === BodyFraming.UntilClose);
  }
}

function flushHead(req: H1DownstreamRequest): void {
  req.flushHeldHead();
}
