/**
 * One request on one HTTP/2 stream of an upstream session, reported to undici-style classic
 * handler callbacks (the waypoint's UpstreamAttempt): onConnect(abort) once the stream is
 * opened, onBodySent per body chunk, onHeaders (false pauses the stream until `resume()`),
 * onData (false pauses), onComplete(trailers), onError.
 *
 * The request body is written with backpressure (paused while the stream's buffer is full,
 * resumed on 'drain'); a stream body ends with the trailers it carries ({@link REQUEST_TRAILERS},
 * Node's `waitForTrailers`), or an empty DATA frame with END_STREAM when it has none.
 *
 * 1xx responses are hop-level and never reach the handler: Node reports them as 'headers' /
 * 'continue', not 'response' (Envoy's router drops them unless told to proxy 100-continue).
 */
const http2 = process.getBuiltinModule('node:http2');
declare namespace http2 { export type ClientHttp2Session = import('node:http2').ClientHttp2Session; export type ClientHttp2Stream = import('node:http2').ClientHttp2Stream; export type IncomingHttpHeaders = import('node:http2').IncomingHttpHeaders; }
import type { OutgoingHttpHeaders } from 'node:http';
const { Readable } = process.getBuiltinModule('node:stream');
type Readable = import('node:stream').Readable;
import { REQUEST_TRAILERS, type RequestTrailerSource } from '../h2-request-trailers.js';
import { UpstreamH2Error } from './h2-error.js';
import { stopRequestBody } from './request-body-stop.js';
import type { H2Request } from './h2-request.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
const NO_TRAILERS: OutgoingHttpHeaders = Object.freeze({});

/** The session side of an exchange. */
export interface H2ExchangeOwner {
  /** The stream closed: its slot on the session is free. Called once per started exchange. */
  streamClosed(ex: H2Exchange): void;
  /** The session is gone (destroyed or closed): errors are connection failures. */
  readonly gone: boolean;
}

interface BodySentHandler {
  onBodySent?(chunk: Buffer): void;
}

export class H2Exchange {
  /** Set by the session when a GOAWAY's last-stream-id is below this stream: never processed. */
  refusedByGoaway = false;
  private stream: http2.ClientHttp2Stream | undefined;
  private owner: H2ExchangeOwner | undefined;
  private settled = false;
  private responded = false;
  private trailers: http2.IncomingHttpHeaders | undefined;
  private bodyDone = true;

  constructor(readonly req: H2Request) {}

  /** The stream's id once its HEADERS went out (undefined while nghttp2 holds it). */
  get streamId(): number | undefined {
    return this.stream?.id;
  }

  /** Opens the stream on `session` and starts the request. */
  start(session: http2.ClientHttp2Session, owner: H2ExchangeOwner): void {
    const req = this.req;
    const streamBody = req.body instanceof Readable && !req.endStream ? req.body : undefined;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(req.headers, { endStream: req.endStream, waitForTrailers: streamBody !== undefined });
    } catch (err) {
      // Headers Node refuses (validated at dispatch, so rare) or a session that just closed.
      this.settled = true;
      const code = session.closed || session.destroyed ? 'H2_CONNECTION_CLOSED' : 'H2_INVALID_REQUEST';
      owner.streamClosed(this);
      req.handler.onError?.(new UpstreamH2Error(code, `upstream request not sent: ${(err as Error).message}`));
      return;
    }
    this.stream = stream;
    this.owner = owner;
    stream.on('response', this.onResponse);
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('frameError', this.onFrameError);
    stream.on('close', this.onClose);
    req.handler.onConnect?.(this.abort);
    if (this.settled) return;
    if (streamBody) {
      this.bodyDone = false;
      this.pumpBody(stream, streamBody);
    } else if (Buffer.isBuffer(req.body) && !req.endStream) {
      stream.end(req.body);
      (req.handler as BodySentHandler).onBodySent?.(req.body);
    }
  }

  /** The handler's abort (per-try timeout, retry, downstream gone): RST_STREAM CANCEL. */
  readonly abort = (err?: Error): void => {
    if (this.settled) return;
    this.settled = true;
    const e = err ?? new Error('upstream request aborted');
    this.stopBody(e);
    const s = this.stream;
    if (s && !s.closed && !s.destroyed) s.close(NGHTTP2_CANCEL);
    this.req.handler.onError?.(e);
  };

  private readonly resume = (): void => {
    if (!this.settled) this.stream?.resume();
  };

  private readonly onResponse = (headers: http2.IncomingHttpHeaders): void => {
    if (this.settled) return;
    this.responded = true;
    const status = Number(headers[':status']);
    const s = this.stream as http2.ClientHttp2Stream;
    let more: boolean | undefined;
    try {
      more = this.req.handler.onHeaders?.(status, rawHeaders(headers) as unknown as Buffer[], this.resume, '');
    } catch (err) {
      // A handler that throws ends its request, not the process (undici aborted it the same way).
      this.abort(err as Error);
      return;
    }
    if (more === false) s.pause();
    // Node may queue DATA that arrived with the HEADERS before emitting 'response': reading
    // starts only now (a stream paused above stays paused until `resume()`).
    if (!this.settled) s.on('data', this.onData);
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.settled) return;
    let more: boolean | undefined;
    try {
      more = this.req.handler.onData?.(chunk);
    } catch (err) {
      this.abort(err as Error);
      return;
    }
    if (more === false) this.stream?.pause();
  };

  private readonly onTrailers = (trailers: http2.IncomingHttpHeaders): void => {
    this.trailers = trailers;
  };

  private readonly onEnd = (): void => {
    if (this.settled) return;
    if (!this.responded) {
      this.fail(new UpstreamH2Error('H2_NO_RESPONSE', 'upstream stream ended before response headers'));
      return;
    }
    this.settled = true;
    // The response is complete: a request body still streaming is not wanted any more.
    if (!this.bodyDone) {
      this.stopBody();
      const s = this.stream;
      if (s && !s.closed) s.close(NGHTTP2_CANCEL);
    }
    this.req.handler.onComplete?.((this.trailers ?? null) as unknown as string[] | null);
  };

  private readonly onError = (err: Error): void => {
    this.fail(this.classify(err));
  };

  private readonly onFrameError = (type: number, code: number): void => {
    this.fail(new UpstreamH2Error('H2_STREAM_RESET', `upstream frame error: type ${type}, code ${code}`, code));
  };

  private readonly onClose = (): void => {
    // A peer's RST_STREAM CANCEL or NO_ERROR closes the stream without an 'error'.
    if (!this.settled) this.fail(this.classify(undefined));
    this.owner?.streamClosed(this);
    this.owner = undefined;
  };

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.stopBody(err);
    const s = this.stream;
    if (s && !s.closed && !s.destroyed) s.close(NGHTTP2_CANCEL);
    this.req.handler.onError?.(err);
  }

  private classify(err: Error | undefined): UpstreamH2Error {
    const rst = this.stream?.rstCode;
    const why = err ? `: ${err.message}` : '';
    if (this.refusedByGoaway) return new UpstreamH2Error('H2_REFUSED_STREAM', `upstream GOAWAY refused the stream${why}`, NGHTTP2_REFUSED_STREAM);
    if (rst === NGHTTP2_REFUSED_STREAM) return new UpstreamH2Error('H2_REFUSED_STREAM', `upstream refused the stream${why}`, rst);
    if (this.owner?.gone !== false || rst === undefined) return new UpstreamH2Error('H2_CONNECTION_CLOSED', `upstream connection closed${why}`, rst);
    return new UpstreamH2Error('H2_STREAM_RESET', `upstream reset the stream (code ${rst})${why}`, rst === NGHTTP2_NO_ERROR ? undefined : rst);
  }

  // --- request body ---

  private body: Readable | undefined;

  private pumpBody(stream: http2.ClientHttp2Stream, body: Readable): void {
    this.body = body;
    body.on('data', this.onBodyData);
    body.on('end', this.onBodyEnd);
    body.on('error', this.onBodyError);
    body.on('close', this.onBodyClose);
    stream.on('drain', this.onDrain);
    stream.on('wantTrailers', this.onWantTrailers);
    if (body.readableEnded) setImmediate(this.onBodyEnd);
    else if (body.destroyed) setImmediate(this.onBodyClose);
    else body.resume();
  }

  private readonly onBodyData = (data: Buffer | string): void => {
    if (this.bodyDone) return;
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const s = this.stream as http2.ClientHttp2Stream;
    const ok = s.write(chunk);
    (this.req.handler as BodySentHandler).onBodySent?.(chunk);
    if (!ok && !this.bodyDone) this.body?.pause();
  };

  private readonly onDrain = (): void => {
    if (!this.bodyDone) this.body?.resume();
  };

  private readonly onBodyEnd = (): void => {
    if (this.bodyDone) return;
    const source = (this.body as Readable & { [REQUEST_TRAILERS]?: RequestTrailerSource })[REQUEST_TRAILERS];
    this.trailerSource = source;
    this.unhookBody();
    this.stream?.end();
  };

  private trailerSource: RequestTrailerSource | undefined;

  private readonly onWantTrailers = (): void => {
    const s = this.stream as http2.ClientHttp2Stream;
    const trailers = this.trailerSource?.upstreamTrailers();
    try {
      s.sendTrailers(trailers ?? NO_TRAILERS);
    } catch {
      // Trailers Node refuses (a connection-specific name): end the stream without them, as
      // Envoy's codec drops what it cannot encode.
      try {
        s.sendTrailers(NO_TRAILERS);
      } catch {
        s.close();
      }
    }
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
    this.stream?.off('drain', this.onDrain);
  }

  /** Stops sending the body. */
  private stopBody(err?: Error): void {
    if (this.bodyDone) return;
    this.unhookBody();
    stopRequestBody(this.body, err);
  }
}

/** Node's response header object as the flat `[name, value, ...]` list the handler takes. */
function rawHeaders(headers: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const x of v) out.push(name, x);
  }
  return out;
}

function noop(): void {}
