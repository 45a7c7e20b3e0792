/**
 * The checks RFC 9113 §8.2 and §8.3.2 ask of a client about a response's field list: exactly one
 * `:status` of three digits and no other pseudo-header, pseudo-headers before regular fields,
 * lowercase token names, values without controls or surrounding whitespace, no
 * connection-specific fields, and `content-length` a number (two must agree). A response that
 * fails one is malformed: the client resets the stream with PROTOCOL_ERROR (§8.1.1), as nghttp2
 * does, and the proxy answers 502. Trailers are checked by `trailerFields` (request-fields.ts).
 */
import { parseLength, validRegular, validValue } from './request-fields.js';

export interface ResponseFields {
  readonly status: number;
  /** Regular fields, flat `[name, value, ...]`. */
  readonly fields: string[];
  /** The declared body length, or -1. */
  readonly contentLength: number;
}

/** The response head from a decoded field list, or undefined when it is malformed. */
export function responseFields(flat: readonly string[]): ResponseFields | undefined {
  let status = -1;
  let regularSeen = false;
  let contentLength = -1;
  const fields: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen || name !== ':status' || status !== -1 || !validValue(value)) return undefined;
      status = parseStatus(value);
      if (status < 0) return undefined;
      continue;
    }
    regularSeen = true;
    if (!validRegular(name, value)) return undefined;
    if (name === 'content-length') {
      const n = parseLength(value);
      if (n < 0 || (contentLength >= 0 && n !== contentLength)) return undefined;
      contentLength = n;
    }
    fields.push(name, value);
  }
  if (status < 0) return undefined;
  return { status, fields, contentLength };
}

/** Three digits, 100–999 (RFC 9110 §15); -1 otherwise. */
function parseStatus(v: string): number {
  if (v.length !== 3) return -1;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n >= 100 ? n : -1;
}
