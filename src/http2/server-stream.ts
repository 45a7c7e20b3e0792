/**
 * One stream of a {@link ServerConnection}, as the request's user sees it: the request arrives
 * through a {@link StreamHandler} (body chunks, trailers, end, close); the response goes out with
 * {@link respond}, {@link write}, {@link end} and {@link reset}.
 *
 * Sending honours the peer's flow control: DATA leaves at most as large as the smaller of the
 * stream's and the connection's send windows and the peer's SETTINGS_MAX_FRAME_SIZE; the rest
 * waits in a queue for WINDOW_UPDATE (or a larger SETTINGS_INITIAL_WINDOW_SIZE), and `write()`
 * answers false until it has gone ({@link StreamHandler.onDrain} then). END_STREAM rides on the
 * last frame already queued for this turn's write when it can (the HEADERS of a bodyless
 * response, the last DATA frame), so a response that ends in the turn it was written in costs no
 * extra empty DATA frame.
 *
 * Receiving: our window for the stream is credited back as the handler takes the data (a
 * handler that answers false holds the credit until {@link resume}), in WINDOW_UPDATEs of at
 * least half the window.
 */
import { ErrorCode } from './frame-types.js';

export interface StreamHandler {
  /** A request body chunk; false: stop crediting the window until {@link H2ServerStream.resume}. */
  onData(chunk: Buffer): boolean;
  /** The request's trailers (checked), just before {@link onEnd}. */
  onTrailers(fields: string[]): void;
  /** The request is complete (END_STREAM received). */
  onEnd(): void;
  /** The response may take more after write() answered false. */
  onDrain(): void;
  /**
   * The stream is closed: `finished` when our whole response went out and nothing was reset;
   * `code` the RST_STREAM code when a reset (either side's) closed it.
   */
  onClose(finished: boolean, code: number | undefined): void;
}

/** What a stream needs from its connection. */
export interface StreamHost {
  sendHeaders(stream: H2ServerStream, fields: readonly string[], endStream: boolean): Buffer;
  sendData(stream: H2ServerStream, chunk: Buffer, endStream: boolean): Buffer;
  /** The connection's send window, and a charge against it. */
  readonly connectionSendWindow: number;
  chargeConnectionWindow(n: number): void;
  readonly peerMaxFrameSize: number;
  /** The writer's current turn: a frame header queued in it can still change. */
  readonly turn: number;
  /** The transport will take more now. */
  readonly writable: boolean;
  /** The stream waits for a window (or for the transport to drain). */
  waitFor(stream: H2ServerStream): void;
  creditStream(stream: H2ServerStream, n: number): void;
  rstStream(stream: H2ServerStream, code: ErrorCode): void;
  streamClosed(stream: H2ServerStream): void;
  /** The final GOAWAY: the connection ends once its streams are done. */
  shutdown(): void;
}

const END_STREAM = 0x1;

export class H2ServerStream {
  handler: StreamHandler | undefined;
  /** The peer's window for what we send. */
  sendWindow: number;
  /** Our window for what the peer sends. */
  recvWindow: number;
  /** Bytes taken by the handler and not yet credited back. */
  uncredited = 0;
  /** Bytes received while the handler held back, credited on resume(). */
  heldCredit = 0;
  holding = false;
  /** Request body bytes so far (checked against content-length). */
  received = 0;
  remoteEnded: boolean;
  localEnded = false;
  closed = false;
  headersSent = false;
  /** The peer reset the stream, or we did. */
  resetCode: number | undefined;
  /** Millisecond timestamp of the last byte in or out (the connection's idle clock reads it). */
  lastActivity: number;
  /** A write answered false: onDrain is owed. */
  wantsDrain = false;
  /**
   * A server resets a stream whose response is complete before its request (RFC 9113 §8.1);
   * a client's request is complete long before its response and waits for it.
   */
  resetWhenEndedFirst = true;
  private queue: Buffer[] = [];
  private queued = 0;
  private endQueued = false;
  private trailers: readonly string[] | undefined;
  /** The header of the last frame we queued, and the writer turn it was queued in. */
  private lastHeader: Buffer | undefined;
  private lastTurn = -1;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    sendWindow: number,
    recvWindow: number,
    endStream: boolean,
    readonly contentLength: number,
    now: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.remoteEnded = endStream;
    this.lastActivity = now;
  }

  /** Bytes waiting for a window. */
  get pendingBytes(): number {
    return this.queued;
  }

  /** Sends the response head (`fields` with `:status` first, checked by the caller). */
  respond(fields: readonly string[], endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    this.lastHeader = this.host.sendHeaders(this, fields, endStream);
    this.lastTurn = this.host.turn;
    if (endStream) this.endedLocally();
  }

  /** A body chunk; false when it had to wait (for a window or the transport). */
  write(chunk: Buffer): boolean {
    if (this.closed || this.endQueued) return true;
    if (chunk.length > 0) {
      this.queue.push(chunk);
      this.queued += chunk.length;
      this.pump();
    }
    if (this.queued === 0 && this.host.writable) return true;
    this.wantsDrain = true;
    if (this.queued === 0) this.host.waitFor(this);
    return false;
  }

  /** Ends the response, with trailers (checked by the caller) if any. */
  end(trailers?: readonly string[]): void {
    if (this.closed || this.endQueued) return;
    this.endQueued = true;
    if (trailers && trailers.length > 0) this.trailers = trailers;
    this.pump();
  }

  /** RST_STREAM with `code`; the handler hears onClose(false). */
  reset(code: ErrorCode): void {
    if (this.closed) return;
    this.host.rstStream(this, code);
    this.close(code);
  }

  /** The connection ends after this response (and the others in flight). */
  closeConnection(): void {
    this.host.shutdown();
  }

  /** The handler takes data again: credit what it held back. */
  resume(): void {
    if (!this.holding) return;
    this.holding = false;
    const n = this.heldCredit;
    this.heldCredit = 0;
    if (n > 0) this.host.creditStream(this, n);
  }

  /** Sends what the windows allow; called again by the connection when a window opens. */
  pump(): void {
    const host = this.host;
    while (this.queue.length > 0 && !this.closed) {
      const room = Math.min(this.sendWindow, host.connectionSendWindow, host.peerMaxFrameSize);
      if (room <= 0) {
        host.waitFor(this);
        return;
      }
      let chunk = this.queue[0] as Buffer;
      if (chunk.length > room) {
        this.queue[0] = chunk.subarray(room);
        chunk = chunk.subarray(0, room);
      } else this.queue.shift();
      const n = chunk.length;
      this.queued -= n;
      this.sendWindow -= n;
      host.chargeConnectionWindow(n);
      const last = this.queue.length === 0 && this.endQueued && this.trailers === undefined;
      this.lastHeader = host.sendData(this, chunk, last);
      this.lastTurn = host.turn;
      if (last) {
        this.endedLocally();
        return;
      }
    }
    if (this.queue.length > 0 || !this.endQueued || this.localEnded || this.closed) return;
    if (this.trailers !== undefined) {
      host.sendHeaders(this, this.trailers, true);
    } else if (this.lastHeader !== undefined && this.lastTurn === host.turn) {
      // The last frame has not left yet: it carries END_STREAM itself.
      this.lastHeader[4] = (this.lastHeader[4] as number) | END_STREAM;
    } else {
      host.sendData(this, Buffer.alloc(0), true);
    }
    this.endedLocally();
  }

  /** A window opened or the transport drained: owed 'drain' is delivered once nothing waits. */
  drained(): void {
    if (!this.wantsDrain || this.queued > 0 || this.closed || !this.host.writable) return;
    this.wantsDrain = false;
    this.handler?.onDrain();
  }

  private endedLocally(): void {
    this.localEnded = true;
    this.lastHeader = undefined;
    if (this.remoteEnded) this.close(undefined);
    // RFC 9113 §8.1: a response complete before its request lets the server stop the rest.
    else if (this.resetWhenEndedFirst) this.reset(ErrorCode.NO_ERROR);
  }

  /** Marks the stream closed and tells the handler (once). */
  close(code: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.resetCode = code;
    this.queue = [];
    this.queued = 0;
    this.host.streamClosed(this);
    this.handler?.onClose(this.localEnded && (code === undefined || code === ErrorCode.NO_ERROR), code);
  }
}
