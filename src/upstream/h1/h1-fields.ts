/**
 * Field lines of an HTTP/1.1 head or trailer section (RFC 9112 §5), parsed strictly: names are
 * tokens with no space before the colon, values carry no control bytes, obs-fold continuation
 * lines are joined with one SP. Shared checks of the response parser live here too.
 */
import { UpstreamH1Error } from './h1-error.js';

const LF = 10;
const SP = 32;
const HT = 9;
/** 2^53: larger lengths cannot be counted exactly in a number. */
const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

export function malformed(reason: string): UpstreamH1Error {
  return new UpstreamH1Error('H1_MALFORMED_RESPONSE', `malformed upstream response: ${reason}`);
}

/** HTAB, SP, VCHAR, obs-text: what a field value or reason phrase may contain. */
export function isFieldByte(b: number): boolean {
  return b === HT || (b >= SP && b !== 0x7f);
}

/** Field lines of `data[pos, end)`, each CRLF-terminated: name/value pairs (latin1). */
export function parseFields(data: Buffer, pos: number, end: number): string[] {
  const out: string[] = [];
  while (pos < end) {
    const eol = data.indexOf(LF, pos) - 1;
    const first = data[pos] as number;
    if (first === SP || first === HT) {
      // obs-fold: the line continues the previous value, joined by one SP.
      if (out.length === 0) throw malformed('continuation line without a field');
      const value = fieldValue(data, pos, eol);
      if (value.length > 0) out[out.length - 1] = `${out[out.length - 1] as string} ${value}`;
      pos = eol + 2;
      continue;
    }
    let i = pos;
    while (i < eol && TCHAR[data[i] as number] === 1) i++;
    if (i === pos || i >= eol || data[i] !== 0x3a) throw malformed('invalid header name');
    out.push(data.toString('latin1', pos, i), fieldValue(data, i + 1, eol));
    pos = eol + 2;
  }
  return out;
}

/** The value of `data[from, to)` without surrounding whitespace; throws on control bytes. */
function fieldValue(data: Buffer, from: number, to: number): string {
  while (from < to && (data[from] === SP || data[from] === HT)) from++;
  while (to > from && (data[to - 1] === SP || data[to - 1] === HT)) to--;
  for (let i = from; i < to; i++) if (!isFieldByte(data[i] as number)) throw malformed('invalid character in header value');
  return data.toString('latin1', from, to);
}

/** A Content-Length value: digits only, below 2^53. */
export function parseLength(value: string): number {
  if (value.length === 0 || value.length > 16) throw malformed('invalid Content-Length');
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) throw malformed('invalid Content-Length');
    n = n * 10 + d;
  }
  if (n > MAX_LENGTH) throw malformed('invalid Content-Length');
  return n;
}
