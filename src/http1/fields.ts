/**
 * Field lines of an HTTP/1.1 head or trailer section (RFC 9112 §5), parsed strictly for both
 * directions: names are tokens with no space before the colon, values carry no control bytes
 * (HTAB, SP, VCHAR and obs-text only), surrounding whitespace is dropped. obs-fold continuation
 * lines are refused in requests (RFC 9112 §5.2: a server rejects them or replaces them; llhttp
 * and Envoy reject) and joined with one SP in responses (what a user agent may do).
 */
import { Http1ParseError, malformed } from './parse-error.js';

const LF = 10;
const SP = 32;
const HT = 9;
/** 2^53: larger lengths cannot be counted exactly in a number. */
const MAX_LENGTH = Number.MAX_SAFE_INTEGER;

/** RFC 9110 tchar. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** HTAB, SP, VCHAR, obs-text: what a field value or reason phrase may contain. */
export function isFieldByte(b: number): boolean {
  return b === HT || (b >= SP && b !== 0x7f);
}

export interface FieldOptions {
  /** Join obs-fold lines (responses) instead of refusing them (requests). */
  readonly foldObs: boolean;
  /** Lowercase the names (requests: the exchange keys headers lowercase). */
  readonly lowercase: boolean;
  /** More field lines than this is a 431. */
  readonly maxCount: number;
}

/**
 * Field lines of `data[pos, end)`, each known to end in CRLF (the head reader checked):
 * name/value pairs, latin1.
 */
export function parseFields(data: Buffer, pos: number, end: number, opts: FieldOptions): string[] {
  const out: string[] = [];
  while (pos < end) {
    const eol = data.indexOf(LF, pos) - 1;
    const first = data[pos] as number;
    if (first === SP || first === HT) {
      if (!opts.foldObs) throw malformed('obs-fold header continuation');
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
    if (out.length >= opts.maxCount * 2) throw new Http1ParseError(431, 'too many header fields');
    const name = data.toString('latin1', pos, i);
    out.push(opts.lowercase ? name.toLowerCase() : name, fieldValue(data, i + 1, eol));
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

/** A Content-Length value: digits only (no sign, list or space), below 2^53. */
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

/** Case-insensitive token search in a comma-separated list (`Connection`, `Transfer-Encoding`). */
export function listHas(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  let from = 0;
  for (;;) {
    const comma = lower.indexOf(',', from);
    const end = comma === -1 ? lower.length : comma;
    if (lower.slice(from, end).trim() === token) return true;
    if (comma === -1) return false;
    from = comma + 1;
  }
}
