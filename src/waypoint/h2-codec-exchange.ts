/**
 * One inner HTTP/2 request on the waypoint's own codec (src/http2/) as a {@link DownstreamExchange}:
 * the checked request head, its body as a Readable fed by the stream (pausing it holds back the
 * stream's flow-control credit, so the client stops), and the response through the stream's
 * `respond()` / `write()` / `end()`.
 *
 * No head is held back here: every frame a turn produces already leaves in that turn's one write
 * (`FrameWriter`), and END_STREAM is set on the last frame still queued when the response ends in
 * the same turn, so a small response is HEADERS [+ DATA] with END_STREAM in one write, and one
 * that ends later ends with an empty DATA frame (or its trailers).
 *
 * The stream's handler is this object (no closure per request); the exchange hears that the
 * stream closed on the next tick, as it did from Node's 'close' event.
 */
import { PulledBody } from '../net/pulled-body.js';
type Readable = import('node:stream').Readable;
import { HeaderMap } from '../filter/header-map.js';
import { ErrorCode } from '../http2/frame-types.js';
import type { RequestFields } from '../http2/request-fields.js';
import type { H2ServerStream, StreamHandler } from '../http2/server-stream.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';
import { responseHead, trailerFields } from './h2-response-head.js';

const RESET = 'stream reset';

function notifyClosed(x: H2CodecExchange): void {
  x.notifyClosed();
}

/** `[':status', '200', name, value, ...]` when the head is writable, else undefined. */
function headFields(status: number, headers: readonly string[]): string[] | undefined {
  const head = responseHead(status, headers);
  if (!head) return undefined;
  head[1] = String(status);
  return head as string[];
}

export class H2CodecExchange implements DownstreamExchange, StreamHandler {
  readonly protocol = 'HTTP/2' as const;
  readonly method: string;
  readonly target: string;
  readonly authority: string | undefined;
  readonly headers: HeaderMap;
  readonly bodyless: boolean;
  readonly body: Readable | null;
  complete: boolean;
  private events: DownstreamEvents | undefined;
  private trailerMap: HeaderMap | undefined;
  private sent = false;
  private finished: boolean | undefined;

  constructor(
    private readonly stream: H2ServerStream,
    head: RequestFields,
  ) {
    this.method = head.method;
    this.target = head.path ?? '';
    this.headers = HeaderMap.fromRaw(head.fields);
    this.authority = head.authority ?? this.headers.get('host');
    this.bodyless = stream.remoteEnded;
    this.complete = this.bodyless;
    this.body = this.bodyless ? null : new PulledBody(() => stream.resume());
    stream.handler = this;
  }

  trailers(): HeaderMap | undefined {
    return this.trailerMap;
  }

  get headersSent(): boolean {
    return this.sent;
  }

  attach(events: DownstreamEvents): void {
    this.events = events;
    if (this.finished !== undefined) process.nextTick(notifyClosed, this);
  }

  writeHead(status: number, headers: readonly string[]): boolean {
    if (this.sent || this.stream.closed) return false;
    const head = headFields(status, headers);
    if (!head) return false;
    this.sent = true;
    this.stream.respond(head, false);
    return true;
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  end(trailers?: readonly string[]): boolean {
    if (trailers && trailers.length > 0 && !trailerFields(trailers)) {
      this.reset();
      return false;
    }
    this.stream.end(trailers);
    return true;
  }

  respond(status: number, headers: readonly string[], body: string): boolean {
    if (this.sent || this.stream.closed) return false;
    const head = headFields(status, headers);
    if (!head) return false;
    this.sent = true;
    if (body.length === 0) {
      this.stream.respond(head, true);
      return true;
    }
    this.stream.respond(head, false);
    this.stream.write(Buffer.from(body));
    this.stream.end();
    return true;
  }

  closeConnection(): void {
    this.stream.closeConnection();
  }

  reset(): void {
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }

  /** @internal The connection's clock: nothing moved on this stream for the stream idle timeout. */
  idle(): void {
    this.events?.downstreamIdle();
  }

  // --- StreamHandler ---

  onData(chunk: Buffer): boolean {
    return (this.body as Readable).push(chunk);
  }

  onTrailers(fields: string[]): void {
    const map = HeaderMap.fromRaw(fields);
    if (map.size > 0) this.trailerMap = map;
  }

  onEnd(): void {
    this.complete = true;
    this.body?.push(null);
  }

  onDrain(): void {
    this.events?.downstreamDrain();
  }

  onClose(finished: boolean): void {
    const body = this.body;
    if (body && !this.complete && !body.destroyed) body.destroy(new Error(RESET));
    this.finished = finished;
    if (this.events) process.nextTick(notifyClosed, this);
  }

  /** @internal */
  notifyClosed(): void {
    this.events?.downstreamClosed(this.finished === true);
  }
}
