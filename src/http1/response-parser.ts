/**
 * An incremental, strict HTTP/1.1 response parser (RFC 9112) for the upstream client.
 *
 * Fed whatever bytes the connection receives, it reports the response head (1xx heads too),
 * body chunks as zero-copy slices of the input, and the end with its trailers. Its strictness is
 * the request parser's (same head reader, field rules and body framing, src/http1/): CRLF only,
 * token names, no control bytes in values, Content-Length digits only and never in conflict with
 * itself or with Transfer-Encoding, strict chunk framing, a head larger than the limit refused.
 * obs-fold continuation lines are replaced by one SP, as RFC 9112 §5.2 tells a user agent to do.
 *
 * The handler may pause the parser (returning false from a head or body report): `execute`
 * then returns the offset it stopped at and the caller feeds the rest again after resuming.
 * `execute` also stops right after the end of a response, so the caller sees any extra bytes.
 * Refusals throw {@link Http1ParseError}.
 */
import { BodyDecoder, BodyState, type BodySink } from './body-decoder.js';
import { isFieldByte, listHas, parseFields, parseLength, type FieldOptions } from './fields.js';
import { HeadReader } from './head-reader.js';
import { malformed } from './parse-error.js';

export interface ResponseHandler {
  /** A response head, 1xx included (their pause request is ignored). False pauses the parser. */
  onResponseHead(status: number, headers: string[]): boolean;
  /** A slice of the body. False pauses the parser. */
  onResponseBody(chunk: Buffer): boolean;
  /** The response is complete; `trailers` (name/value pairs) only for chunked bodies that had any. */
  onResponseEnd(trailers: string[] | null): void;
}

const enum State {
  Head,
  Body,
  Trailers,
  Done,
}

const LF = 10;
const SP = 32;
const KEEPALIVE_TIMEOUT = /timeout=(\d+)/;
const FIELDS: FieldOptions = { foldObs: true, lowercase: false, maxCount: Infinity };

export class ResponseParser implements BodySink {
  private state = State.Done;
  private headRequest = false;
  private paused = false;
  private readonly reader: HeadReader;
  private readonly body: BodyDecoder;
  /** The status of the final response (0 until it arrives). */
  status = 0;
  /** Both sides may keep the connection (known once the final head arrived). */
  keepAlive = false;
  /** The upstream's `Keep-Alive: timeout=N` hint in ms, if it sent one. */
  keepAliveHintMs: number | undefined;

  constructor(
    private readonly handler: ResponseHandler,
    maxHeaderSize: number,
  ) {
    this.reader = new HeadReader(maxHeaderSize);
    this.body = new BodyDecoder(this);
  }

  /** Expects the response to a new request (`head`: it was a HEAD request: no body follows). */
  reset(head: boolean): void {
    this.state = State.Head;
    this.headRequest = head;
    this.paused = false;
    this.reader.reset();
    this.status = 0;
    this.keepAlive = false;
    this.keepAliveHintMs = undefined;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The body runs until the connection closes. */
  get readsUntilClose(): boolean {
    return this.state === State.Body && this.body.state === BodyState.UntilClose;
  }

  /** Nothing of the response has arrived yet. */
  get idle(): boolean {
    return this.state === State.Head && this.status === 0 && !this.reader.started;
  }

  resume(): void {
    this.paused = false;
  }

  onBodyChunk(chunk: Buffer): boolean {
    return this.handler.onResponseBody(chunk);
  }

  /**
   * Parses `buf` from `pos`. Returns where it stopped: `buf.length`, or earlier when the handler
   * paused it or the response ended.
   */
  execute(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (!this.paused) {
      switch (this.state) {
        case State.Done:
          return pos;
        case State.Head:
        case State.Trailers: {
          if (pos >= end) return pos;
          const next = this.reader.read(buf, pos);
          if (next < 0) return end;
          pos = next;
          const r = this.reader;
          if (this.state === State.Head) this.head(r.data, r.start, r.end);
          else {
            const trailers = parseFields(r.data, r.start, r.end, FIELDS);
            this.finish(trailers.length > 0 ? trailers : null);
            return pos;
          }
          break;
        }
        case State.Body: {
          if (this.body.state === BodyState.Done) {
            this.finish(null);
            return pos;
          }
          if (pos >= end) return pos;
          pos = this.body.decode(buf, pos);
          if (this.body.paused) this.paused = true;
          if (this.body.state === BodyState.Trailers) this.state = State.Trailers;
          break;
        }
      }
    }
    return pos;
  }

  /** The connection ended: completes a read-until-close body, or throws if the response is cut. */
  finishAtEof(): boolean {
    if (this.readsUntilClose) {
      this.finish(null);
      return true;
    }
    return false;
  }

  private finish(trailers: string[] | null): void {
    this.state = State.Done;
    this.handler.onResponseEnd(trailers);
  }

  /** Parses the status line and the fields of `data[start, end)` (CRLF-terminated lines). */
  private head(data: Buffer, start: number, end: number): void {
    const eol = data.indexOf(LF, start) - 1;
    // "HTTP/1.x SP 3DIGIT [SP reason]"
    if (
      eol - start < 12 ||
      data[start] !== 0x48 ||
      data[start + 1] !== 0x54 ||
      data[start + 2] !== 0x54 ||
      data[start + 3] !== 0x50 ||
      data[start + 4] !== 0x2f ||
      data[start + 5] !== 0x31 ||
      data[start + 6] !== 0x2e ||
      (data[start + 7] !== 0x30 && data[start + 7] !== 0x31) ||
      data[start + 8] !== SP
    ) {
      throw malformed('invalid status line');
    }
    const http10 = data[start + 7] === 0x30;
    let status = 0;
    for (let i = start + 9; i < start + 12; i++) {
      const d = (data[i] as number) - 0x30;
      if (d < 0 || d > 9) throw malformed('invalid status code');
      status = status * 10 + d;
    }
    if (status < 100) throw malformed('invalid status code');
    if (eol > start + 12) {
      if (data[start + 12] !== SP) throw malformed('invalid status line');
      for (let i = start + 13; i < eol; i++) if (!isFieldByte(data[i] as number)) throw malformed('invalid reason phrase');
    }
    const headers = parseFields(data, eol + 2, end, FIELDS);

    if (status < 200) {
      // 101 would switch protocols, which the waypoint never asks for.
      if (status === 101) throw malformed('unexpected 101 Switching Protocols');
      this.handler.onResponseHead(status, headers);
      return;
    }

    let length = -1;
    let chunked = false;
    let transferEncoding = false;
    let close = false;
    let keepAliveToken = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const n = name.length;
      if (n !== 10 && n !== 14 && n !== 17) continue;
      const lower = name.toLowerCase();
      const value = headers[i + 1] as string;
      if (lower === 'content-length') {
        const v = parseLength(value);
        if (length >= 0 && v !== length) throw malformed('conflicting Content-Length');
        length = v;
      } else if (lower === 'transfer-encoding') {
        transferEncoding = true;
        // Only the last coding decides the framing (RFC 9112 §6.3).
        const codings = value.split(',');
        chunked = (codings[codings.length - 1] as string).trim().toLowerCase() === 'chunked';
      } else if (lower === 'connection') {
        if (listHas(value, 'close')) close = true;
        else if (listHas(value, 'keep-alive')) keepAliveToken = true;
      } else if (lower === 'keep-alive') {
        const m = KEEPALIVE_TIMEOUT.exec(value);
        if (m) this.keepAliveHintMs = Number(m[1]) * 1000;
      }
    }
    if (transferEncoding && length >= 0) throw malformed('both Transfer-Encoding and Content-Length');

    this.status = status;
    this.keepAlive = !close && (!http10 || keepAliveToken);
    if (!this.handler.onResponseHead(status, headers)) this.paused = true;

    this.state = State.Body;
    if (this.headRequest || status === 204 || status === 304) this.body.length(0);
    else if (chunked) this.body.chunked();
    else if (length >= 0) this.body.length(length);
    else {
      this.keepAlive = false;
      this.body.untilClose();
    }
  }
}
