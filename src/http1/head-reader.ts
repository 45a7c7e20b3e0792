/**
 * Collects one head (start line and fields) or trailer section up to its empty line, across as
 * many input chunks as it takes, checking as it goes what makes the section unparseable at all:
 * every line ends in CRLF (a bare LF is refused at once rather than waited on) and the section
 * stays within the size limit (431, as Envoy and Node answer). The lines themselves are parsed
 * by the caller from {@link data}`[start, end)`.
 */
import { Http1ParseError, malformed } from './parse-error.js';

const CR = 13;
const LF = 10;

export class HeadReader {
  /** Bytes of an unfinished section kept between chunks. */
  private partial: Buffer | undefined;
  /** After a successful {@link read}: the buffer holding the section... */
  data: Buffer = Buffer.alloc(0);
  /** ...its first byte... */
  start = 0;
  /** ...and the offset of its empty line (every field line before it ends in CRLF). */
  end = 0;

  constructor(private readonly maxBytes: number) {}

  reset(): void {
    this.partial = undefined;
  }

  /** Part of a section has arrived. */
  get started(): boolean {
    return this.partial !== undefined;
  }

  /**
   * Reads from `buf[pos..]`. Returns the offset in `buf` just after the section's empty line, or
   * -1 when more bytes are needed (they are kept). Throws {@link Http1ParseError}.
   */
  read(buf: Buffer, pos: number): number {
    const prior = this.partial;
    const data = prior ? Buffer.concat([prior, buf.subarray(pos)]) : buf;
    const start = prior ? 0 : pos;
    // Where `data` indices map back into `buf`.
    const shift = prior ? prior.length - pos : 0;
    // Resume scanning at the start of the last (incomplete) line kept.
    let line = prior ? lastLineStart(prior) : start;
    for (;;) {
      const lf = data.indexOf(LF, line);
      if (lf < 0) {
        if (data.length - start > this.maxBytes) throw tooLarge(this.maxBytes);
        this.partial = prior ? data : Buffer.from(data.subarray(start));
        return -1;
      }
      if (lf === line || data[lf - 1] !== CR) throw malformed('line not ended by CRLF');
      if (lf + 1 - start > this.maxBytes) throw tooLarge(this.maxBytes);
      if (lf - 1 === line) {
        this.partial = undefined;
        this.data = data;
        this.start = start;
        this.end = line;
        return lf + 1 - shift;
      }
      line = lf + 1;
    }
  }
}

/** The start of the last line of a kept partial section (complete lines were checked). */
function lastLineStart(prior: Buffer): number {
  const lf = prior.lastIndexOf(LF);
  return lf < 0 ? 0 : lf + 1;
}

function tooLarge(max: number): Http1ParseError {
  return new Http1ParseError(431, `head larger than ${max} bytes`);
}
