/**
 * One inner HTTP/2 request as a {@link DownstreamExchange}, on Node's session/stream API: the
 * `'stream'` event's headers, the stream itself as the request body, `respond()` / `write()` /
 * `end()` for the response and `waitForTrailers` + `sendTrailers()` for its trailers. No compat
 * request/response objects (two objects, a header copy and their event plumbing per request).
 *
 * The response head goes out at the end of the turn `writeHead()` ran in, or with `end()` if that
 * comes first (a small upstream response: head, body and end from one read): only a response
 * still open then waits for trailers. Waiting costs an empty DATA frame with END_STREAM one
 * event-loop turn later (Node sends trailers from a setImmediate), a second write through the
 * tunnel per request; without it the last DATA frame (or the HEADERS frame) carries END_STREAM.
 *
 * Listeners are shared module functions that find their exchange on the stream (no closure per
 * request on the hot path), as the relay does.
 */
const http2 = process.getBuiltinModule('node:http2');
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { HeaderMap } from '../filter/header-map.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';
import type { H2FieldCounter } from './h2-field-count.js';
import { responseHead, trailerFields } from './h2-response-head.js';

const { NGHTTP2_PROTOCOL_ERROR } = http2.constants;
const NO_TRAILERS: OutgoingHttpHeaders = Object.freeze({});
const RESET = 'stream reset by the waypoint';

const kExchange = Symbol('h2Exchange');
type Tagged = ServerHttp2Stream & { [kExchange]?: H2DownstreamExchange };

function onTrailers(this: Tagged, headers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kExchange]?.receivedTrailers(headers, raw);
}

function onWantTrailers(this: Tagged): void {
  this[kExchange]?.sendTrailers();
}

function onDrain(this: Tagged): void {
  this[kExchange]?.events?.downstreamDrain();
}

function onIdle(this: Tagged): void {
  this[kExchange]?.events?.downstreamIdle();
}

function ignore(): void {
  // A reset stream emits 'error'; its end is reported through 'close'.
}

function onClose(this: Tagged): void {
  const x = this[kExchange];
  this[kExchange] = undefined;
  x?.closed();
}

/**
 * Resets a malformed request with PROTOCOL_ERROR (RFC 9113 §8.1.1) at once: close() alone ends our
 * side first and lets the body's 'end' through (its END_STREAM came with the bad trailers), so
 * the upstream would get a complete request; destroy() after close() keeps close()'s code.
 */
export function refuseMalformed(stream: ServerHttp2Stream): void {
  if (stream.destroyed) return;
  stream.on('error', ignore);
  stream.close(NGHTTP2_PROTOCOL_ERROR);
  stream.destroy();
}

/** Sends a head `writeHead()` left pending: the response did not end in the same turn. */
function flushHead(x: H2DownstreamExchange): void {
  x.flushHead();
}

export class H2DownstreamExchange implements DownstreamExchange {
  readonly protocol = 'HTTP/2' as const;
  readonly method: string;
  readonly target: string;
  readonly authority: string | undefined;
  readonly headers: HeaderMap;
  readonly bodyless: boolean;
  /** @internal */
  events: DownstreamEvents | undefined;
  private trailerMap: HeaderMap | undefined;
  private pendingTrailers: OutgoingHttpHeaders | undefined;
  /** The response head between writeHead() and the end of that turn (or end()). */
  private pendingHead: (string | number)[] | undefined;
  private heldBody: Buffer[] | undefined;
  private ended = false;
  private drainWatched = false;
  private sent = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    raw: readonly string[],
    private readonly fields: H2FieldCounter,
    private readonly idleMs: number,
  ) {
    this.method = headers[':method'] ?? 'GET';
    this.target = headers[':path'] ?? '';
    this.authority = headers[':authority'] ?? headers.host;
    // From the raw field list: Node's object joins repeated fields with `, `, and policy must
    // see each value (Envoy matches them joined with `,`).
    this.headers = HeaderMap.fromRaw(raw);
    this.bodyless = stream.endAfterHeaders;
    (stream as Tagged)[kExchange] = this;
    stream.on('error', ignore);
    if (!this.bodyless) stream.once('trailers', onTrailers);
  }

  get body(): Readable | null {
    return this.bodyless ? null : this.stream;
  }

  get complete(): boolean {
    return this.bodyless || this.stream.readableEnded;
  }

  trailers(): HeaderMap | undefined {
    return this.trailerMap;
  }

  get headersSent(): boolean {
    return this.sent;
  }

  attach(events: DownstreamEvents): void {
    this.events = events;
    const s = this.stream;
    s.once('close', onClose);
    if (this.idleMs > 0 && Number.isFinite(this.idleMs)) s.setTimeout(this.idleMs, onIdle);
  }

  writeHead(status: number, headers: readonly string[]): boolean {
    if (this.sent || this.stream.destroyed) return false;
    const head = responseHead(status, headers);
    if (!head) return false;
    this.sent = true;
    // Sent at the end of this turn, or by end() if that comes first: a response whose head, body
    // and end arrive together (one upstream read) then goes out as HEADERS [+ DATA] with
    // END_STREAM, instead of waiting for trailers that never come (an empty DATA frame one
    // event-loop turn later, a second write through the tunnel).
    this.pendingHead = head;
    process.nextTick(flushHead, this);
    return true;
  }

  write(chunk: Buffer): boolean {
    if (this.pendingHead) {
      // At most what one upstream read delivered, until the end of this turn.
      (this.heldBody ??= []).push(chunk);
      return true;
    }
    if (this.stream.write(chunk)) return true;
    if (!this.drainWatched) {
      this.drainWatched = true;
      this.stream.on('drain', onDrain);
    }
    return false;
  }

  end(trailers?: readonly string[]): boolean {
    let withTrailers = false;
    if (trailers && trailers.length > 0) {
      const t = trailerFields(trailers);
      if (!t) {
        this.reset();
        return false;
      }
      this.pendingTrailers = t;
      withTrailers = true;
    }
    this.ended = true;
    // The head is still ours to send: now we know whether trailers follow.
    if (this.pendingHead && !this.sendHead(withTrailers)) return false;
    this.stream.end();
    return true;
  }

  /** @internal The turn of writeHead() is over without end(): trailers may still come. */
  flushHead(): void {
    if (this.pendingHead && !this.ended) this.sendHead(true);
  }

  /** Sends the pending head (and the body held behind it); false when the stream was reset. */
  private sendHead(waitForTrailers: boolean): boolean {
    const head = this.pendingHead as (string | number)[];
    const body = this.heldBody;
    this.pendingHead = undefined;
    this.heldBody = undefined;
    if (this.stream.destroyed) return false;
    // Ending now with no body and no trailers: the head alone carries END_STREAM.
    const endStream = this.ended && !waitForTrailers && body === undefined;
    try {
      this.stream.respond(head as unknown as OutgoingHttpHeaders, { waitForTrailers, endStream });
    } catch {
      // responseHead() checked what Node refuses; should Node refuse more, fail closed.
      this.reset();
      return false;
    }
    if (waitForTrailers) this.stream.once('wantTrailers', onWantTrailers);
    if (body) for (const chunk of body) this.write(chunk);
    return true;
  }

  respond(status: number, headers: readonly string[], body: string): boolean {
    if (this.sent || this.stream.destroyed) return false;
    const head = responseHead(status, headers);
    if (!head) return false;
    try {
      this.stream.respond(head as unknown as OutgoingHttpHeaders, { endStream: body.length === 0 });
    } catch {
      return false;
    }
    this.sent = true;
    this.ended = true;
    if (body.length > 0) this.stream.end(body);
    return true;
  }

  closeConnection(): void {
    // Graceful: Node sends GOAWAY naming the last stream taken, and those still finish.
    const session = this.stream.session;
    if (session && !session.closed && !session.destroyed) session.close();
  }

  reset(): void {
    this.pendingHead = undefined;
    this.heldBody = undefined;
    // destroy(), not close(): close() ends our side first, so the client would see a clean end.
    if (!this.stream.destroyed) this.stream.destroy(new Error(RESET));
  }

  /** @internal The request's trailers arrived: malformed ones (a field Node dropped) reset it. */
  receivedTrailers(headers: IncomingHttpHeaders, raw: readonly string[]): void {
    if (this.fields.take(this.stream.id ?? 0) !== raw.length / 2) {
      refuseMalformed(this.stream);
      return;
    }
    const map = HeaderMap.fromRaw(raw);
    if (map.size > 0) this.trailerMap = map;
  }

  /** @internal The last DATA frame went out: the trailers (or an empty end) follow. */
  sendTrailers(): void {
    try {
      this.stream.sendTrailers(this.pendingTrailers ?? NO_TRAILERS);
    } catch {
      this.reset();
    }
  }

  /** @internal */
  closed(): void {
    this.events?.downstreamClosed(this.ended && this.stream.writableFinished && !this.stream.aborted);
  }
}
