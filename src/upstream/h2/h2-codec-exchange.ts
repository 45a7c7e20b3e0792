/**
 * One request on one stream of the waypoint's own HTTP/2 client connection
 * (src/http2/client-connection.ts), reported to the same undici-style handler callbacks as
 * {@link H2Exchange} (the nghttp2 one): onConnect(abort), onBodySent per chunk, onHeaders (false
 * pauses until `resume()`), onData (false pauses), onComplete(trailers), onError.
 *
 * Pausing holds the stream's window credit, so the server stops within one window; chunks that
 * arrive meanwhile wait here and are delivered, in order and before the end, on `resume()`.
 * The request body is written with backpressure (paused while the stream's queue waits for a
 * window or the transport); a stream body ends with the trailers it carries
 * ({@link REQUEST_TRAILERS}), checked and dropped if not sendable as Envoy's codec drops them.
 */
const { Readable } = process.getBuiltinModule('node:stream');
type Readable = import('node:stream').Readable;
import type { OutgoingHttpHeaders } from 'node:http';
import type { ClientConnection } from '../../http2/client-connection.js';
import type { ClientStreamHandler, H2ClientStream } from '../../http2/client-stream.js';
import { ErrorCode } from '../../http2/frame-types.js';
import { validRegular } from '../../http2/request-fields.js';
import { REQUEST_TRAILERS, type RequestTrailerSource } from '../h2-request-trailers.js';
import { UpstreamH2Error } from './h2-error.js';
import type { H2Request } from './h2-request.js';
import { stopRequestBody } from './request-body-stop.js';

/** The session side of an exchange. */
export interface H2CodecExchangeOwner {
  /** The stream closed: its slot on the connection is free. Called once per started exchange. */
  streamClosed(ex: H2CodecExchange): void;
}

interface BodySentHandler {
  onBodySent?(chunk: Buffer): void;
}

export class H2CodecExchange implements ClientStreamHandler {
  private stream: H2ClientStream | undefined;
  private conn: ClientConnection | undefined;
  private owner: H2CodecExchangeOwner | undefined;
  private settled = false;
  private paused = false;
  /** Chunks received while paused, and whether the response ended behind them. */
  private held: Buffer[] = [];
  private endHeld = false;
  private trailers: Record<string, string | string[]> | null = null;
  private bodyDone = true;
  private body: Readable | undefined;

  constructor(readonly req: H2Request) {}

  /** Opens the stream on `conn` and starts the request. */
  start(conn: ClientConnection, owner: H2CodecExchangeOwner): void {
    const req = this.req;
    const streamBody = req.body instanceof Readable && !req.endStream ? req.body : undefined;
    const stream = conn.request(requestFields(req.headers), req.endStream, this, req.headers[':method'] === 'HEAD');
    if (!stream) {
      // The connection stopped taking streams this turn (GOAWAY, ids spent): nothing was sent.
      this.settled = true;
      owner.streamClosed(this);
      req.handler.onError?.(new UpstreamH2Error('H2_REFUSED_STREAM', 'upstream connection takes no new streams'));
      return;
    }
    this.stream = stream;
    this.conn = conn;
    this.owner = owner;
    req.handler.onConnect?.(this.abort);
    if (this.settled) return;
    if (streamBody) this.pumpBody(streamBody);
    else if (Buffer.isBuffer(req.body) && !req.endStream) {
      stream.write(req.body);
      stream.end();
      (req.handler as BodySentHandler).onBodySent?.(req.body);
    }
  }

  /** The handler's abort (per-try timeout, retry, downstream gone): RST_STREAM CANCEL. */
  readonly abort = (err?: Error): void => {
    this.fail(err ?? new Error('upstream request aborted'));
  };

  private readonly resume = (): void => {
    if (this.settled || !this.paused) return;
    this.paused = false;
    while (this.held.length > 0 && !this.paused && !this.settled) this.deliver(this.held.shift() as Buffer);
    if (this.settled || this.paused) return;
    if (this.endHeld) return this.complete();
    this.stream?.resume();
  };

  // --- ClientStreamHandler ---

  onResponse(status: number, fields: string[]): boolean {
    if (this.settled) return true;
    let more: boolean | undefined;
    try {
      more = this.req.handler.onHeaders?.(status, fields as unknown as Buffer[], this.resume, '');
    } catch (err) {
      // A handler that throws ends its request, not the process (undici aborted it the same way).
      this.abort(err as Error);
      return true;
    }
    if (more === false) this.paused = true;
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return true;
    if (this.paused) this.held.push(chunk);
    else this.deliver(chunk);
    return !this.paused;
  }

  onTrailers(fields: string[]): void {
    // As the nghttp2 client reports them (Node's header object): the handler's contract.
    const t: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] as string;
      const value = fields[i + 1] as string;
      const prev = t[name];
      t[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    this.trailers = t;
  }

  onEnd(): void {
    if (this.settled) return;
    if (this.paused) this.endHeld = true;
    else this.complete();
  }

  onDrain(): void {
    if (!this.bodyDone) this.body?.resume();
  }

  onClose(_finished: boolean, code: number | undefined): void {
    // A response ended while paused completes on resume(), whatever becomes of the stream.
    if (!this.settled && !this.endHeld) this.fail(this.classify(code), false);
    this.owner?.streamClosed(this);
    this.owner = undefined;
  }

  // --- response ---

  private deliver(chunk: Buffer): void {
    let more: boolean | undefined;
    try {
      more = this.req.handler.onData?.(chunk);
    } catch (err) {
      this.abort(err as Error);
      return;
    }
    if (more === false) this.paused = true;
  }

  private complete(): void {
    if (this.settled) return;
    this.settled = true;
    // The response is complete: a request body still streaming is not wanted any more.
    if (!this.bodyDone) {
      this.stopBody();
      this.stream?.reset(ErrorCode.CANCEL);
    }
    this.req.handler.onComplete?.(this.trailers as unknown as string[] | null);
  }

  private fail(err: Error, reset = true): void {
    if (this.settled) return;
    this.settled = true;
    this.held = [];
    this.stopBody(err);
    if (reset) this.stream?.reset(ErrorCode.CANCEL);
    this.req.handler.onError?.(err);
  }

  private classify(code: number | undefined): UpstreamH2Error {
    if (this.stream?.refusedByGoaway) return new UpstreamH2Error('H2_REFUSED_STREAM', 'upstream GOAWAY refused the stream', ErrorCode.REFUSED_STREAM);
    if (code === ErrorCode.REFUSED_STREAM) return new UpstreamH2Error('H2_REFUSED_STREAM', 'upstream refused the stream', code);
    if (this.stream?.malformed) return new UpstreamH2Error('H2_MALFORMED_RESPONSE', 'upstream response broke HTTP/2; stream reset with PROTOCOL_ERROR', ErrorCode.PROTOCOL_ERROR);
    if (code === undefined || this.conn?.failed !== false) return new UpstreamH2Error('H2_CONNECTION_CLOSED', 'upstream connection closed', code);
    if (!this.stream?.responded && this.stream?.remoteEnded) return new UpstreamH2Error('H2_NO_RESPONSE', 'upstream stream ended before response headers');
    return new UpstreamH2Error('H2_STREAM_RESET', `upstream reset the stream (code ${code})`, code === ErrorCode.NO_ERROR ? undefined : code);
  }

  // --- request body ---

  private pumpBody(body: Readable): void {
    this.bodyDone = false;
    this.body = body;
    body.on('data', this.onBodyData);
    body.on('end', this.onBodyEnd);
    body.on('error', this.onBodyError);
    body.on('close', this.onBodyClose);
    if (body.readableEnded) setImmediate(this.onBodyEnd);
    else if (body.destroyed) setImmediate(this.onBodyClose);
    else body.resume();
  }

  private readonly onBodyData = (data: Buffer | string): void => {
    if (this.bodyDone) return;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const ok = (this.stream as H2ClientStream).write(chunk);
    (this.req.handler as BodySentHandler).onBodySent?.(chunk);
    if (!ok && !this.bodyDone) this.body?.pause();
  };

  private readonly onBodyEnd = (): void => {
    if (this.bodyDone) return;
    const source = (this.body as Readable & { [REQUEST_TRAILERS]?: RequestTrailerSource })[REQUEST_TRAILERS];
    this.unhookBody();
    this.stream?.end(trailerList(source?.upstreamTrailers()));
  };

  private readonly onBodyError = (err: Error): void => {
    this.fail(new UpstreamH2Error('H2_REQUEST_BODY_FAILED', `request body failed: ${err.message}`));
  };

  private readonly onBodyClose = (): void => {
    if (!this.bodyDone) this.fail(new UpstreamH2Error('H2_REQUEST_BODY_FAILED', 'request body closed before its end'));
  };

  private unhookBody(): void {
    this.bodyDone = true;
    const body = this.body;
    if (!body) return;
    body.off('data', this.onBodyData);
    body.off('end', this.onBodyEnd);
    body.off('close', this.onBodyClose);
    // Keep a no-op error listener: a late error must not become an uncaught exception.
    body.off('error', this.onBodyError);
    body.on('error', noop);
  }

  private stopBody(err?: Error): void {
    if (this.bodyDone) return;
    this.unhookBody();
    stopRequestBody(this.body, err);
  }
}

/** The request head as a field list, pseudo-headers first (H2Request built and checked it). */
function requestFields(headers: OutgoingHttpHeaders): string[] {
  const out = [':method', String(headers[':method']), ':scheme', String(headers[':scheme']), ':authority', String(headers[':authority']), ':path', String(headers[':path'])];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, String(v));
  }
  return out;
}

/** Trailers as a field list; fields HTTP/2 cannot carry are dropped (as Envoy's codec drops them). */
function trailerList(trailers: OutgoingHttpHeaders | undefined): string[] | undefined {
  if (!trailers) return undefined;
  const out: string[] = [];
  for (const [raw, v] of Object.entries(trailers)) {
    if (v === undefined) continue;
    const name = raw.toLowerCase();
    for (const x of Array.isArray(v) ? v : [v]) {
      const value = String(x);
      if (name.charCodeAt(0) !== 0x3a && validRegular(name, value)) out.push(name, value);
    }
  }
  return out;
}

function noop(): void {}
