/**
 * One inner HTTP/2 request as a {@link DownstreamExchange}, on Node's session/stream API: the
 * `'stream'` event's headers, the stream itself as the request body, `respond()` / `write()` /
 * `end()` for the response and `waitForTrailers` + `sendTrailers()` for its trailers. No compat
 * request/response objects (two objects, a header copy and their event plumbing per request).
 *
 * Listeners are shared module functions that find their exchange on the stream (no closure per
 * request on the hot path), as the relay does.
 */
const http2 = process.getBuiltinModule('node:http2');
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { isHeaderName, isHeaderValue } from '../config/from-k8s/header-field.js';
import { HeaderMap } from '../filter/header-map.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';
import type { H2FieldCounter } from './h2-field-count.js';

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

/** The response head as the stream API takes it; undefined when a name or value is not writable. */
function responseHeaders(status: number, flat: readonly string[]): OutgoingHttpHeaders | undefined {
  const out: OutgoingHttpHeaders = { ':status': status };
  return addFields(out, flat) ? out : undefined;
}

/**
 * Adds a flat `[name, value, ...]` list to `out` (repeated names become arrays). False for a name
 * that is not a lowercase token or a value with CR, LF, NUL or other controls: Node's HTTP/2
 * writes those without complaint, a malformed message (RFC 9113 §8.2.1) an HTTP/1 hop behind the
 * client could split.
 */
function addFields(out: OutgoingHttpHeaders, flat: readonly string[]): boolean {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (!isHeaderName(name) || !isHeaderValue(value)) return false;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else out[name] = Array.isArray(prev) ? [...(prev), value] : [String(prev), value];
  }
  return true;
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
    const out = responseHeaders(status, headers);
    if (!out || this.sent || this.stream.destroyed) return false;
    try {
      // Trailers are known only at the end; the stream waits for them (or for none).
      this.stream.respond(out, { waitForTrailers: true });
    } catch {
      // A connection-specific field Node refuses (RFC 9113 §8.2.2).
      return false;
    }
    this.sent = true;
    this.stream.once('wantTrailers', onWantTrailers);
    return true;
  }

  write(chunk: Buffer): boolean {
    if (this.stream.write(chunk)) return true;
    if (!this.drainWatched) {
      this.drainWatched = true;
      this.stream.on('drain', onDrain);
    }
    return false;
  }

  end(trailers?: readonly string[]): boolean {
    if (trailers && trailers.length > 0) {
      const t: OutgoingHttpHeaders = {};
      if (!addFields(t, trailers)) {
        this.reset();
        return false;
      }
      this.pendingTrailers = t;
    }
    this.ended = true;
    this.stream.end();
    return true;
  }

  respond(status: number, headers: readonly string[], body: string): boolean {
    const out = responseHeaders(status, headers);
    if (!out || this.sent || this.stream.destroyed) return false;
    try {
      this.stream.respond(out, { endStream: body.length === 0 });
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
