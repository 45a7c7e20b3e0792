/**
 * HTTP/1.1 on one downstream tunnel (an HBONE CONNECT stream, or a plain socket): the tunnel's
 * bytes go straight into the codec's request parser ('data' chunks in) and responses straight
 * out (`write`, corked batches), with backpressure both ways from the stream itself: a request
 * body nobody reads pauses the parser and the tunnel; a full tunnel pauses the upstream.
 *
 * Requests are served one at a time, in order, as Envoy's HTTP/1 codec does: the next request
 * (pipelined or not) is parsed only once the response before it has been written, so a valid
 * request ahead of a malformed one is answered before the 400. Refusals (400, 431, 501, 408)
 * are written by the codec, end the connection, and what follows is read and dropped for a
 * while (a lingering close) so the client can finish sending and see the answer.
 *
 * Draining (Envoy's HTTP/1 drain): requests keep being served; each response from then on says
 * `connection: close` and the connection ends after it; idle connections are left to the end of
 * the drain ({@link closeIdle}). Once the waypoint's side has ended, no further byte is parsed:
 * a request whose answer could not be sent is never executed.
 */
import type { Duplex } from 'node:stream';
import { raiseWriteHighWaterMark } from '../net/bulk-high-water-mark.js';
import { TurnBatch } from '../net/turn-batch.js';
import { Http1ParseError } from '../http1/parse-error.js';
import { CONTINUE_HEAD } from '../http1/head-writer.js';
import { RequestParser, type RequestHandler, type RequestHead } from '../http1/request-parser.js';
import { ClockPhase, ConnectionClock, type ClockOwner } from './h1-connection-clock.js';
import { H1DownstreamRequest, type H1RequestOwner } from './h1-downstream-request.js';
import type { HttpLimits } from './http-limits.js';

/** What a connection asks of the proxy serving it. */
export interface H1ConnectionOwner<C> {
  /** A parsed request: run it (`context`: what the connection was created with). */
  startExchange(req: H1DownstreamRequest, context: C): void;
  /** The tunnel closed. */
  connectionGone(tunnel: Duplex): void;
}

/** How long a connection that was refused or ended may keep sending before it is reset. */
const LINGER_MS = 2000;

/** After a 408 has been flushed, how long before the tunnel is reset (the answer travels first). */
const RESET_AFTER_MS = 50;

/** The codec's own refusals; 501 is RFC 9112 §6.1's answer to a transfer coding the proxy does not decode. */
const REFUSALS: Readonly<Record<number, string>> = {
  400: 'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nBad Request',
  408: 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
  417: 'HTTP/1.1 417 Expectation Failed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
  431: 'HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
  501: 'HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
};

export class H1DownstreamConnection<C> implements RequestHandler, H1RequestOwner, ClockOwner {
  private readonly parser: RequestParser;
  private readonly clock: ConnectionClock;
  /** Response body chunks relayed in one turn leave as one write. */
  private readonly batch: TurnBatch;
  /** The request being served (its response may be done while its body is still being read). */
  private current: H1DownstreamRequest | undefined;
  /** The current request's exchange was told it is over. */
  private notified = false;
  /** Bytes read but not parsed yet (parser paused, or waiting for a response to finish). */
  private pending: Buffer | undefined;
  private inputPaused = false;
  /** Our side has ended (or is ending): nothing more is parsed or served. */
  private ended = false;
  /** The client ended its side. */
  private eof = false;
  private gone = false;
  /** The connection was reset under a response (it did not complete). */
  private wasReset = false;
  draining = false;
  headStart: number;
  lastActivity: number;

  constructor(
    private readonly stream: Duplex,
    private readonly owner: H1ConnectionOwner<C>,
    limits: HttpLimits,
    private readonly context: C,
  ) {
    this.parser = new RequestParser(this, limits.maxRequestHeadersBytes, limits.maxHeadersCount);
    this.lastActivity = this.headStart = Date.now();
    this.clock = new ConnectionClock(this, limits);
    // A response body relayed from upstream pauses its source only past this (not every 64 KiB).
    raiseWriteHighWaterMark(stream);
    this.batch = new TurnBatch(stream);
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('drain', this.onDrain);
    stream.on('error', ignore);
    stream.once('close', this.onClose);
    this.clock.start();
  }

  /** Starts reading (the stream may hold bytes put back by sniffing). */
  start(): void {
    this.stream.resume();
  }

  get phase(): ClockPhase {
    if (this.gone || this.ended) return ClockPhase.Off;
    if (this.current) return ClockPhase.Busy;
    return this.headStart > 0 ? ClockPhase.Head : ClockPhase.Idle;
  }

  /** No request in flight. */
  get idle(): boolean {
    return this.current === undefined;
  }

  /** Draining begins: the next response says `connection: close`. */
  drain(): void {
    this.draining = true;
  }

  /** The end of a drain: an idle connection ends now (a busy one is left to the caller). */
  closeIdle(): void {
    if (this.current || this.ended || this.gone) return;
    this.endConnection(undefined);
  }

  destroy(): void {
    this.stream.destroy();
  }

  // --- tunnel events ---

  private readonly onData = (chunk: Buffer): void => {
    const now = Date.now();
    this.lastActivity = now;
    if (this.ended) return;
    if (this.headStart === 0 && this.current === undefined) this.headStart = now;
    if (this.pending !== undefined || this.parser.isPaused || this.parser.done) {
      this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
      this.pauseInput();
      return;
    }
    this.feed(chunk);
    this.afterInput();
  };

  private readonly onEnd = (): void => {
    this.eof = true;
    if (this.pending === undefined) this.afterInput();
  };

  private readonly onDrain = (): void => {
    this.current?.drained();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.clock.stop();
    const cur = this.current;
    if (cur && !this.notified) {
      this.notified = true;
      cur.closed(cur.done && !this.wasReset);
    }
    this.owner.connectionGone(this.stream);
  };

  // --- parsing ---

  private feed(buf: Buffer): void {
    let pos: number;
    try {
      pos = this.parser.execute(buf, 0);
    } catch (err) {
      this.refuse(err instanceof Http1ParseError ? err.status : 400);
      return;
    }
    if (pos < buf.length && !this.ended) {
      this.pending = pos === 0 ? buf : buf.subarray(pos);
      this.pauseInput();
    }
  }

  /** Parses kept bytes while the parser can take them. */
  private feedPending(): void {
    while (this.pending !== undefined && !this.ended && !this.parser.isPaused && !this.parser.done) {
      const buf = this.pending;
      this.pending = undefined;
      this.feed(buf);
    }
    if (this.pending === undefined && this.inputPaused && !this.ended) {
      this.inputPaused = false;
      this.stream.resume();
    }
    this.afterInput();
  }

  /** What the client's end of input means once every byte before it was parsed. */
  private afterInput(): void {
    if (!this.eof || this.pending !== undefined || this.ended || this.gone) return;
    const cur = this.current;
    if (cur === undefined) {
      // A partial head cut by the client is a malformed request; nothing at all is a clean end.
      if (this.parser.idle) this.endConnection(undefined);
      else this.refuse(400);
      return;
    }
    // Cut mid-body: the request cannot complete; nothing sensible can be answered.
    if (!cur.complete) this.destroy();
    // Else the response in flight is finished first, then the connection ends.
  }

  private pauseInput(): void {
    if (this.inputPaused) return;
    this.inputPaused = true;
    this.stream.pause();
  }

  onRequestHead(head: RequestHead): boolean {
    this.headStart = 0;
    const req = new H1DownstreamRequest(this, head);
    this.current = req;
    this.notified = false;
    if (head.expectContinue) this.send(CONTINUE_HEAD);
    this.owner.startExchange(req, this.context);
    return true;
  }

  onRequestBody(chunk: Buffer): boolean {
    const cur = this.current;
    // A response already given (or a body the exchange dropped): the rest is read and discarded.
    if (cur === undefined || cur.done) return true;
    return cur.pushBody(chunk);
  }

  onRequestEnd(trailers: string[] | null): void {
    const cur = this.current;
    if (cur === undefined) return;
    cur.requestEnded(trailers);
    if (cur.done && this.notified) process.nextTick(this.nextRequest);
  }

  // --- H1RequestOwner ---

  send(data: string | Buffer): boolean {
    this.lastActivity = Date.now();
    if (this.gone) return true;
    if (typeof data === 'string') return this.stream.write(data, 'latin1');
    this.batch.before(data.length);
    return this.stream.write(data);
  }

  sendParts(before: string | undefined, chunk: Buffer, after: string | undefined): boolean {
    if (before === undefined && after === undefined) return this.send(chunk);
    this.lastActivity = Date.now();
    if (this.gone) return true;
    const s = this.stream;
    this.batch.before(chunk.length);
    s.cork();
    if (before !== undefined) s.write(before, 'latin1');
    let ok = s.write(chunk);
    if (after !== undefined) ok = s.write(after, 'latin1');
    s.uncork();
    return ok;
  }

  responseEnded(req: H1DownstreamRequest, close: boolean): void {
    if (req !== this.current) return;
    if (close || this.draining || this.eof) this.endConnection(undefined);
    process.nextTick(this.afterResponse);
  }

  resetConnection(): void {
    this.ended = true;
    this.wasReset = true;
    this.stream.destroy();
  }

  resumeInput(): void {
    if (!this.parser.isPaused) return;
    this.parser.resume();
    this.feedPending();
  }

  // --- after a response ---

  private readonly afterResponse = (): void => {
    const cur = this.current;
    if (cur === undefined || this.notified) return;
    this.notified = true;
    cur.closed(true);
    if (this.ended || this.gone) return;
    if (cur.complete) {
      this.nextRequest();
      return;
    }
    // The body is still arriving: read it to its end (discarded), then the next request.
    this.resumeInput();
    if (!this.parser.isPaused) this.feedPending();
  };

  private readonly nextRequest = (): void => {
    if (this.ended || this.gone) return;
    this.current = undefined;
    this.parser.next();
    this.headStart = this.pending !== undefined ? Date.now() : 0;
    this.feedPending();
  };

  // --- ending ---

  /** Ends our side, optionally after a codec refusal; what the client still sends is dropped. */
  private endConnection(refusal: string | undefined): void {
    if (this.ended || this.gone) return;
    this.ended = true;
    this.pending = undefined;
    if (refusal !== undefined) this.stream.end(refusal, 'latin1');
    else this.stream.end();
    // A lingering close: keep reading (and dropping) so the client can finish and see the answer
    // (a tunnel nobody reads stalls on flow control); one that keeps sending is reset.
    this.stream.resume();
    const timer = setTimeout(() => this.stream.destroy(), LINGER_MS);
    timer.unref();
    this.stream.once('close', () => clearTimeout(timer));
  }

  /** A request the codec refuses: answered by the codec when nothing else was, then closed. */
  private refuse(status: number): void {
    const cur = this.current;
    if (cur?.done) {
      // The answer was given; it is the discarded rest of its body that broke.
      this.endConnection(undefined);
      return;
    }
    if (cur) {
      cur.requestAborted(new Error('malformed request body'));
      if (cur.headersSent) {
        this.resetConnection();
        return;
      }
      // The exchange is told its request is gone; the codec answers for it.
      cur.done = true;
      this.notified = true;
      cur.closed(false);
    }
    this.endConnection(REFUSALS[status] ?? REFUSALS[400]);
  }

  // --- ClockOwner ---

  headersTimedOut(): void {
    // The client may still be trickling: the tunnel is reset once the 408 has left (a FIN alone
    // would leave the client's side open).
    this.resetAfter(REFUSALS[408] as string);
  }

  streamIdle(): void {
    this.current?.idle();
  }

  connectionIdle(): void {
    // Closed outright (Node's keep-alive timeout did the same): nothing is in flight.
    this.ended = true;
    this.stream.destroy();
  }

  private resetAfter(last: string): void {
    if (this.ended || this.gone) return;
    this.ended = true;
    this.pending = undefined;
    this.stream.end(last, 'latin1', () => setTimeout(() => this.stream.destroy(), RESET_AFTER_MS).unref());
  }
}

function ignore(): void {
  // Stream errors end in 'close', where the request in flight learns it is gone.
}
