/**
 * An incremental, strict HTTP/1.1 request parser (RFC 9112) for the waypoint's downstream side.
 *
 * Fed whatever bytes the tunnel receives, it reports a request head, body chunks (zero-copy
 * slices of the input) and the end with trailers, then stops: the caller decides when the next
 * request on the connection is read ({@link next}), which is how pipelined requests are served
 * strictly one after the other. It is at least as strict as llhttp where framing and smuggling
 * are concerned (CRLF only, tokens, no obs-fold, Content-Length digits only and never twice,
 * Content-Length with Transfer-Encoding refused, chunked last, one Host, HTTP/1.0 and 1.1 only)
 * and, like Envoy rather than llhttp, takes any token as a method (extension methods).
 * Refusals throw {@link Http1ParseError}: 400, 431 over the head size or field count, 501 for a
 * transfer coding other than chunked (Envoy's answer), 417 for an expectation other than
 * 100-continue (Node's server did that before this codec).
 */
import { BodyDecoder, BodyState, type BodySink } from './body-decoder.js';
import { TCHAR, listHas, parseFields, parseLength, type FieldOptions } from './fields.js';
import { HeadReader } from './head-reader.js';
import { Http1ParseError, malformed } from './parse-error.js';
import { acceptableTarget } from './request-target.js';

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: number;
  /** Name/value pairs, names lowercase, in order. */
  readonly headers: string[];
  /** The Host header (at most one is accepted). */
  readonly host: string | undefined;
  /** The client lets the connection carry another request after this one. */
  readonly keepAlive: boolean;
  /** A body follows the head. */
  readonly hasBody: boolean;
  /** `Expect: 100-continue` on a request with a body. */
  readonly expectContinue: boolean;
}

export interface RequestHandler {
  /** A request head. False pauses the parser. */
  onRequestHead(head: RequestHead): boolean;
  /** A slice of the body. False pauses the parser. */
  onRequestBody(chunk: Buffer): boolean;
  /** The request is complete; `trailers` only for chunked bodies that had any. */
  onRequestEnd(trailers: string[] | null): void;
}

const enum State {
  Head,
  Body,
  Trailers,
  Done,
}

const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;
const CR = 13;
const LF = 10;
const SP = 32;

export class RequestParser implements BodySink {
  private state = State.Head;
  private paused = false;
  private readonly reader: HeadReader;
  private readonly body: BodyDecoder;
  private readonly fields: FieldOptions;

  constructor(
    private readonly handler: RequestHandler,
    maxHeadBytes: number,
    maxFields: number,
  ) {
    this.reader = new HeadReader(maxHeadBytes);
    this.body = new BodyDecoder(this);
    this.fields = { foldObs: false, lowercase: true, maxCount: maxFields };
  }

  /** The last request is complete: nothing more is parsed until {@link next}. */
  get done(): boolean {
    return this.state === State.Done;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Between requests with no byte of the next one seen. */
  get idle(): boolean {
    return (this.state === State.Head && !this.reader.started) || this.state === State.Done;
  }

  /** Reading a head (none of a request seen yet counts too). */
  get inHead(): boolean {
    return this.state === State.Head;
  }

  /** Expects the next request. */
  next(): void {
    this.state = State.Head;
    this.paused = false;
    this.reader.reset();
  }

  resume(): void {
    this.paused = false;
  }

  onBodyChunk(chunk: Buffer): boolean {
    return this.handler.onRequestBody(chunk);
  }

  /**
   * Parses `buf` from `pos`. Returns where it stopped: `buf.length`, or earlier when the handler
   * paused it or a request ended. Throws {@link Http1ParseError} on a request it refuses.
   */
  execute(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (!this.paused && pos < end) {
      switch (this.state) {
        case State.Done:
          return pos;
        case State.Head: {
          // Empty lines before a request line are ignored (RFC 9112 §2.2; llhttp does the same).
          if (!this.reader.started) while (pos < end && (buf[pos] === CR || buf[pos] === LF)) pos++;
          if (pos >= end) return pos;
          const next = this.reader.read(buf, pos);
          if (next < 0) return end;
          pos = next;
          this.head();
          break;
        }
        case State.Body:
          pos = this.body.decode(buf, pos);
          if (this.body.paused) this.paused = true;
          if (this.body.state === BodyState.Done) this.finish(null);
          else if (this.body.state === BodyState.Trailers) this.state = State.Trailers;
          break;
        case State.Trailers: {
          const next = this.reader.read(buf, pos);
          if (next < 0) return end;
          pos = next;
          const r = this.reader;
          const trailers = parseFields(r.data, r.start, r.end, this.fields);
          this.finish(trailers.length > 0 ? trailers : null);
          break;
        }
      }
    }
    return pos;
  }

  private finish(trailers: string[] | null): void {
    this.state = State.Done;
    this.handler.onRequestEnd(trailers);
  }

  private head(): void {
    const { data, start, end } = this.reader;
    const eol = data.indexOf(LF, start) - 1;
    // method SP request-target SP HTTP-version
    let i = start;
    while (i < eol && TCHAR[data[i] as number] === 1) i++;
    if (i === start || data[i] !== SP) throw malformed('invalid method');
    const method = data.toString('latin1', start, i);
    const t = ++i;
    // Visible ASCII only, as llhttp: never a control, SP, DEL or a byte above 0x7e.
    while (i < eol) {
      const b = data[i] as number;
      if (b <= SP || b >= 0x7f) break;
      i++;
    }
    if (i === t || data[i] !== SP || eol - i !== 9) throw malformed('invalid request line');
    if (
      data[i + 1] !== 0x48 ||
      data[i + 2] !== 0x54 ||
      data[i + 3] !== 0x54 ||
      data[i + 4] !== 0x50 ||
      data[i + 5] !== 0x2f ||
      data[i + 6] !== 0x31 ||
      data[i + 7] !== 0x2e ||
      (data[i + 8] !== 0x31 && data[i + 8] !== 0x30)
    ) {
      throw malformed('invalid HTTP version');
    }
    const target = data.toString('latin1', t, i);
    const minor = data[i + 8] === 0x31 ? 1 : 0;
    const headers = parseFields(data, eol + 2, end, this.fields);

    let length = -1;
    let te: string | undefined;
    let host: string | undefined;
    let hosts = 0;
    let close = minor === 0;
    let expect = false;
    for (let k = 0; k < headers.length; k += 2) {
      const name = headers[k] as string;
      const n = name.length;
      if (n !== 4 && n !== 6 && n !== 10 && n !== 14 && n !== 17) continue;
      const value = headers[k + 1] as string;
      if (name === 'host') {
        hosts++;
        host = value;
      } else if (name === 'content-length') {
        if (length >= 0) throw malformed('more than one Content-Length');
        length = parseLength(value);
      } else if (name === 'transfer-encoding') {
        te = te === undefined ? value : `${te}, ${value}`;
      } else if (name === 'connection') {
        if (listHas(value, 'close')) close = true;
        else if (minor === 0 && listHas(value, 'keep-alive')) close = false;
      } else if (name === 'expect' && minor === 1) {
        // As Node's server: 100-continue is honoured, any other expectation gets 417.
        if (!CONTINUE.test(value)) throw new Http1ParseError(417, 'unsupported expectation');
        expect = true;
      }
    }
    if (hosts > 1) throw malformed('more than one Host');
    if (!acceptableTarget(method, target, host)) throw malformed('request target refused');
    if (hosts === 0 && minor === 1) throw malformed('HTTP/1.1 request without Host');
    let hasBody = length > 0;
    if (te !== undefined) {
      if (length >= 0) throw malformed('both Transfer-Encoding and Content-Length');
      // RFC 9112 §6.1: HTTP/1.0 has no chunked framing; a proxy must not guess.
      if (minor === 0) throw malformed('Transfer-Encoding in an HTTP/1.0 request');
      checkChunked(te);
      hasBody = true;
      this.body.chunked();
    } else if (length > 0) this.body.length(length);
    this.state = hasBody ? State.Body : State.Done;
    const head: RequestHead = { method, target, minor, headers, host, keepAlive: !close, hasBody, expectContinue: expect && hasBody && minor === 1 };
    if (!this.handler.onRequestHead(head)) this.paused = true;
    if (!hasBody) this.handler.onRequestEnd(null);
  }
}

/**
 * A request's Transfer-Encoding must end in chunked (else its length is unknowable: 400), and
 * chunked must be the only coding: the proxy decodes no others. A request with a coding it does not
 * understand is answered 501, as RFC 9112 §6.1 asks of a server and as Envoy does: a protocol
 * answer, not a missing feature (the request cannot be framed without decoding it).
 */
function checkChunked(te: string): void {
  const codings = te.split(',');
  for (let i = 0; i < codings.length; i++) {
    const c = (codings[i] as string).trim().toLowerCase();
    const last = i === codings.length - 1;
    if (c === 'chunked') {
      if (!last) throw malformed('chunked is not the last transfer coding');
    } else if (last) throw malformed('Transfer-Encoding does not end in chunked');
    else throw new Http1ParseError(501, `transfer coding ${c} not implemented`);
  }
}
