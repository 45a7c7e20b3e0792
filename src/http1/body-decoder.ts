/**
 * Message body framing on the read side (RFC 9112 §6–7), shared by the request and response
 * parsers: a known Content-Length, chunked (hex sizes, extensions checked and dropped, strict CRLF
 * after every size line and every chunk), or until the connection closes (responses only). Body
 * bytes are reported as zero-copy slices of the input.
 */
import { TCHAR, isFieldByte } from './fields.js';
import { malformed } from './parse-error.js';

export const enum BodyState {
  Length,
  ChunkSize,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  UntilClose,
  /** The last chunk was read: a trailer section follows. */
  Trailers,
  /** The body is complete. */
  Done,
}

/** Where decoded body bytes go; false asks the decoder to stop after this slice. */
export interface BodySink {
  onBodyChunk(chunk: Buffer): boolean;
}

/** Where a chunk extension is, byte by byte. */
const enum Ext {
  NameStart,
  Name,
  ValueStart,
  Value,
  Quoted,
  QuotedPair,
  QuotedEnd,
}

const CR = 13;
const LF = 10;
const SEMI = 0x3b;
const EQ = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Hex digits in a chunk size (13 digits stay below 2^53). */
const MAX_CHUNK_DIGITS = 13;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

export class BodyDecoder {
  state = BodyState.Done;
  /** The sink asked to stop; {@link decode} returned early. */
  paused = false;
  /** Remaining Content-Length or chunk bytes. */
  private remaining = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private ext = Ext.NameStart;

  constructor(private readonly sink: BodySink) {}

  length(n: number): void {
    this.remaining = n;
    this.state = n === 0 ? BodyState.Done : BodyState.Length;
  }

  chunked(): void {
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.state = BodyState.ChunkSize;
  }

  untilClose(): void {
    this.state = BodyState.UntilClose;
  }

  /**
   * Decodes `buf[pos, end)` until it is used up, the sink pauses, or the body reaches its
   * trailers or its end ({@link state} says which). Returns the offset it stopped at.
   */
  decode(buf: Buffer, pos: number): number {
    const end = buf.length;
    this.paused = false;
    while (pos < end && !this.paused) {
      switch (this.state) {
        case BodyState.Length:
        case BodyState.ChunkData: {
          const n = Math.min(this.remaining, end - pos);
          const chunk = pos === 0 && n === end ? buf : buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === BodyState.Length ? BodyState.Done : BodyState.ChunkDataCr;
          if (!this.sink.onBodyChunk(chunk)) this.paused = true;
          break;
        }
        case BodyState.UntilClose: {
          const chunk = pos === 0 ? buf : buf.subarray(pos);
          pos = end;
          if (!this.sink.onBodyChunk(chunk)) this.paused = true;
          break;
        }
        case BodyState.Trailers:
        case BodyState.Done:
          return pos;
        default:
          pos = this.framing(buf, pos, end);
          break;
      }
    }
    return pos;
  }

  /**
   * One byte of a chunk extension (RFC 9112 §7.1.1: `;name[=token|quoted-string]`, repeated), as
   * strict as llhttp: no whitespace, token names and values, quoted strings without controls.
   */
  private extension(b: number): void {
    switch (this.ext) {
      case Ext.NameStart:
        if (TCHAR[b] !== 1) throw malformed('invalid chunk extension name');
        this.ext = Ext.Name;
        return;
      case Ext.Name:
        if (b === SEMI) this.ext = Ext.NameStart;
        else if (b === EQ) this.ext = Ext.ValueStart;
        else if (TCHAR[b] !== 1) throw malformed('invalid chunk extension name');
        return;
      case Ext.ValueStart:
        if (b === DQUOTE) this.ext = Ext.Quoted;
        else if (TCHAR[b] === 1) this.ext = Ext.Value;
        else throw malformed('invalid chunk extension value');
        return;
      case Ext.Value:
        if (b === SEMI) this.ext = Ext.NameStart;
        else if (TCHAR[b] !== 1) throw malformed('invalid chunk extension value');
        return;
      case Ext.Quoted:
        if (b === DQUOTE) this.ext = Ext.QuotedEnd;
        else if (b === BACKSLASH) this.ext = Ext.QuotedPair;
        else if (!isFieldByte(b)) throw malformed('invalid chunk extension value');
        return;
      case Ext.QuotedPair:
        if (!isFieldByte(b)) throw malformed('invalid chunk extension value');
        this.ext = Ext.Quoted;
        return;
      case Ext.QuotedEnd:
        if (b !== SEMI) throw malformed('invalid chunk extension');
        this.ext = Ext.NameStart;
        return;
    }
  }

  /** Chunk-size lines and the CRLF after chunk data, byte by byte. */
  private framing(buf: Buffer, pos: number, end: number): number {
    while (pos < end) {
      const b = buf[pos++] as number;
      switch (this.state) {
        case BodyState.ChunkSize: {
          const v = HEX[b] as number;
          if (v >= 0) {
            if (++this.chunkDigits > MAX_CHUNK_DIGITS) throw malformed('chunk size too large');
            this.chunkSize = this.chunkSize * 16 + v;
            continue;
          }
          if (this.chunkDigits === 0) throw malformed('invalid chunk size');
          if (b === CR) this.state = BodyState.ChunkSizeLf;
          else if (b === SEMI) {
            this.state = BodyState.ChunkExt;
            this.ext = Ext.NameStart;
          } else throw malformed('invalid character in chunk size');
          continue;
        }
        case BodyState.ChunkExt:
          if (b === CR) {
            if (this.ext !== Ext.Name && this.ext !== Ext.Value && this.ext !== Ext.QuotedEnd) throw malformed('invalid chunk extension');
            this.state = BodyState.ChunkSizeLf;
          } else this.extension(b);
          continue;
        case BodyState.ChunkSizeLf:
          if (b !== LF) throw malformed('chunk size line not ended by CRLF');
          if (this.chunkSize === 0) {
            this.state = BodyState.Trailers;
            return pos;
          }
          this.remaining = this.chunkSize;
          this.state = BodyState.ChunkData;
          return pos;
        case BodyState.ChunkDataCr:
          if (b !== CR) throw malformed('chunk data not followed by CRLF');
          this.state = BodyState.ChunkDataLf;
          continue;
        case BodyState.ChunkDataLf:
          if (b !== LF) throw malformed('chunk data not followed by CRLF');
          this.chunkSize = 0;
          this.chunkDigits = 0;
          this.state = BodyState.ChunkSize;
          return pos;
        default:
          return pos - 1;
      }
    }
    return pos;
  }
}
