/**
 * An incremental, strict HTTP/1.1 response parser (RFC 9112) for the upstream client.
 *
 * Fed whatever bytes the connection receives, it reports the response head (1xx heads too),
 * body chunks as zero-copy slices of the input, and the end with its trailers. It is as strict
 * as llhttp (undici's parser) where that matters for safety: every line ends in CRLF (a bare LF
 * is an error), header names are tokens, values carry no control characters, Content-Length is
 * digits only and never conflicts with itself or with Transfer-Encoding, chunk sizes are hex with
 * optional extensions, and a head larger than the limit is refused. obs-fold continuation lines
 * are replaced by one SP, as RFC 9112 §5.2 tells a user agent to do.
 *
 * The handler may pause the parser (returning false from a head or body report): `execute`
 * then returns the offset it stopped at and the caller feeds the rest again after resuming.
 * `execute` also stops right after the end of a response, so the caller sees any extra bytes.
 */
import { UpstreamH1Error } from './h1-error.js';
import { isFieldByte, malformed, parseFields, parseLength } from './h1-fields.js';

export interface H1ResponseHandler {
  /** A response head, 1xx included (their pause request is ignored). False pauses the parser. */
  onResponseHead(status: number, headers: string[]): boolean;
  /** A slice of the body. False pauses the parser. */
  onResponseBody(chunk: Buffer): boolean;
  /** The response is complete; `trailers` (name/value pairs) only for chunked bodies that had any. */
  onResponseEnd(trailers: string[] | null): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailers,
  UntilClose,
  Done,
}

const CR = 13;
const LF = 10;
const SP = 32;
/** Hex digits in a chunk size (13 digits stay below 2^53). */
const MAX_CHUNK_DIGITS = 13;


const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

const KEEPALIVE_TIMEOUT = /timeout=(\d+)/;



export class H1ResponseParser {
  private state = State.Done;
  private headRequest = false;
  private paused = false;
  /** Bytes of an unfinished head or trailer section. */
  private partial: Buffer | undefined;
  /** Remaining body bytes (Content-Length) or chunk bytes. */
  private remaining = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  /** The status of the final response (0 until it arrives). */
  status = 0;
  /** Both sides may keep the connection (known once the final head arrived). */
  keepAlive = false;
  /** The upstream's `Keep-Alive: timeout=N` hint in ms, if it sent one. */
  keepAliveHintMs: number | undefined;

  constructor(
    private readonly handler: H1ResponseHandler,
    private readonly maxHeaderSize: number,
  ) {}

  /** Expects the response to a new request (`head`: it was a HEAD request: no body follows). */
  reset(head: boolean): void {
    this.state = State.Head;
    this.headRequest = head;
    this.paused = false;
    this.partial = undefined;
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
    return this.state === State.UntilClose;
  }

  /** Nothing of the response has arrived yet. */
  get idle(): boolean {
    return this.state === State.Head && this.status === 0 && this.partial === undefined;
  }

  resume(): void {
    this.paused = false;
  }

  /**
   * Parses `buf` from `pos`. Returns where it stopped: `buf.length`, or earlier when the handler
   * paused it or the response ended. Throws {@link UpstreamH1Error} on a malformed response.
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
          const next = this.block(buf, pos);
          if (next < 0) return end;
          pos = next;
          break;
        }
        case State.Length:
        case State.ChunkData: {
          if (this.remaining === 0) {
            if (this.state === State.Length) {
              this.finish(null);
              return pos;
            }
            this.state = State.ChunkDataCr;
            break;
          }
          if (pos >= end) return pos;
          const n = Math.min(this.remaining, end - pos);
          const chunk = buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (!this.handler.onResponseBody(chunk)) this.paused = true;
          break;
        }
        case State.UntilClose: {
          if (pos >= end) return pos;
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          pos = end;
          if (!this.handler.onResponseBody(chunk)) this.paused = true;
          break;
        }
        default:
          if (pos >= end) return pos;
          pos = this.chunkFraming(buf, pos, end);
          break;
      }
    }
    return pos;
  }

  /** The connection ended: completes a read-until-close body, or throws if the response is cut. */
  finishAtEof(): void {
    if (this.state === State.UntilClose) {
      this.finish(null);
      return;
    }
    throw new UpstreamH1Error('H1_CONNECTION_CLOSED', 'upstream closed the connection before the response was complete');
  }

  private finish(trailers: string[] | null): void {
    this.state = State.Done;
    this.handler.onResponseEnd(trailers);
  }

  /** Chunk-size lines and the CRLF after chunk data, byte by byte. */
  private chunkFraming(buf: Buffer, pos: number, end: number): number {
    while (pos < end) {
      const b = buf[pos++] as number;
      switch (this.state) {
        case State.ChunkSize: {
          const v = HEX[b] as number;
          if (v >= 0) {
            if (++this.chunkDigits > MAX_CHUNK_DIGITS) throw malformed('chunk size too large');
            this.chunkSize = this.chunkSize * 16 + v;
            continue;
          }
          if (this.chunkDigits === 0) throw malformed('invalid chunk size');
          if (b === CR) this.state = State.ChunkSizeLf;
          else if (b === 0x3b) this.state = State.ChunkExt;
          else throw malformed('invalid character in chunk size');
          continue;
        }
        case State.ChunkExt:
          if (b === CR) this.state = State.ChunkSizeLf;
          else if (!isFieldByte(b)) throw malformed('invalid character in chunk extension');
          continue;
        case State.ChunkSizeLf:
          if (b !== LF) throw malformed('chunk size line not ended by CRLF');
          if (this.chunkSize === 0) {
            this.state = State.Trailers;
            return pos;
          }
          this.remaining = this.chunkSize;
          this.state = State.ChunkData;
          return pos;
        case State.ChunkDataCr:
          if (b !== CR) throw malformed('chunk data not followed by CRLF');
          this.state = State.ChunkDataLf;
          continue;
        case State.ChunkDataLf:
          if (b !== LF) throw malformed('chunk data not followed by CRLF');
          this.chunkSize = 0;
          this.chunkDigits = 0;
          this.state = State.ChunkSize;
          return pos;
        default:
          return pos - 1;
      }
    }
    return pos;
  }

  /**
   * Collects a head or trailer section up to its empty line. Returns the offset after it in
   * `buf`, or -1 when more bytes are needed (they are kept).
   */
  private block(buf: Buffer, pos: number): number {
    const prior = this.partial;
    const data = prior ? Buffer.concat([prior, buf.subarray(pos)]) : buf;
    const start = prior ? 0 : pos;
    // Where `data` indices map back into `buf`.
    const shift = prior ? prior.length - pos : 0;
    // Resume scanning at the start of the last (incomplete) line kept.
    let line = prior ? this.lastLineStart(prior) : start;
    for (;;) {
      const lf = data.indexOf(LF, line);
      if (lf < 0) {
        if (data.length - start > this.maxHeaderSize) throw this.tooLarge();
        this.partial = prior ? data : Buffer.from(data.subarray(start));
        return -1;
      }
      if (lf === line || data[lf - 1] !== CR) throw malformed('line not ended by CRLF');
      if (lf + 1 - start > this.maxHeaderSize) throw this.tooLarge();
      if (lf - 1 === line) {
        this.partial = undefined;
        if (this.state === State.Head) this.head(data, start, line);
        else this.trailers(data, start, line);
        return lf + 1 - shift;
      }
      line = lf + 1;
    }
  }

  /** The start of the last line of a kept partial section (complete lines were checked). */
  private lastLineStart(prior: Buffer): number {
    const lf = prior.lastIndexOf(LF);
    return lf < 0 ? 0 : lf + 1;
  }

  private tooLarge(): UpstreamH1Error {
    return new UpstreamH1Error('H1_HEADERS_TOO_LARGE', `upstream response headers exceed ${this.maxHeaderSize} bytes`);
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
    const headers = parseFields(data, eol + 2, end);

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
        for (const t of value.split(',')) {
          const token = t.trim().toLowerCase();
          if (token === 'close') close = true;
          else if (token === 'keep-alive') keepAliveToken = true;
        }
      } else if (lower === 'keep-alive') {
        const m = KEEPALIVE_TIMEOUT.exec(value);
        if (m) this.keepAliveHintMs = Number(m[1]) * 1000;
      }
    }
    if (transferEncoding && length >= 0) throw malformed('both Transfer-Encoding and Content-Length');

    this.status = status;
    this.keepAlive = !close && (!http10 || keepAliveToken);
    if (!this.handler.onResponseHead(status, headers)) this.paused = true;

    if (this.headRequest || status === 204 || status === 304) {
      this.remaining = 0;
      this.state = State.Length;
    } else if (chunked) {
      this.chunkSize = 0;
      this.chunkDigits = 0;
      this.state = State.ChunkSize;
    } else if (length >= 0) {
      this.remaining = length;
      this.state = State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }

  private trailers(data: Buffer, start: number, end: number): void {
    const fields = parseFields(data, start, end);
    this.finish(fields.length > 0 ? fields : null);
  }

}

