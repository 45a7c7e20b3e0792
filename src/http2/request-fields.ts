/**
 * The checks RFC 9113 §8.2 and §8.3 ask of a request's (or its trailers') field list, made on
 * the decoded list before anything is served. A list that fails one makes the request malformed:
 * a stream error of type PROTOCOL_ERROR (§8.1.1), as Envoy and nghttp2 answer it:
 * - a name that is not a lowercase token (uppercase included, §8.2.1), or empty;
 * - a value with NUL, CR, LF or another control character but HTAB, or starting or ending with
 *   whitespace (§8.2.1);
 * - connection-specific fields, and `te` other than `trailers` (§8.2.2);
 * - pseudo-headers after a regular field, unknown, repeated or missing, `:scheme`/`:path` on
 *   CONNECT, an empty `:path`, and any pseudo-header in trailers (§8.3);
 * - a `content-length` that is not a number, or two that differ (§8.1.1 checks it against DATA).
 */

/** 1 for the lowercase token characters (RFC 9110 §5.6.2 `tchar` without A–Z). */
const NAME_CHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_CHAR[c.charCodeAt(0)] = 1;

/** 1 for the octets a value may not contain: controls but HTAB, and DEL. */
const BAD_VALUE_CHAR = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) if (c !== 0x09) BAD_VALUE_CHAR[c] = 1;
BAD_VALUE_CHAR[0x7f] = 1;

export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface RequestFields {
  readonly method: string;
  readonly path: string | undefined;
  readonly scheme: string | undefined;
  readonly authority: string | undefined;
  /** Regular fields, flat `[name, value, ...]`. */
  readonly fields: string[];
  /** The declared body length, or -1. */
  readonly contentLength: number;
}

export function validName(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (NAME_CHAR[name.charCodeAt(i) & 0xff] !== 1 || name.charCodeAt(i) > 0xff) return false;
  return true;
}

export function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < n; i++) if (BAD_VALUE_CHAR[value.charCodeAt(i) & 0xff] === 1) return false;
  return true;
}

/** A regular field is acceptable in a request (name, value, connection-specific rules). */
export function validRegular(name: string, value: string): boolean {
  if (!validName(name) || !validValue(value)) return false;
  if (CONNECTION_SPECIFIC.has(name)) return false;
  return name !== 'te' || value === 'trailers';
}

/** Parses a content-length value: digits only; -2 when invalid. */
export function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -2;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -2;
    n = n * 10 + c;
  }
  return n;
}

/** The request head from a decoded field list, or undefined when the request is malformed. */
export function requestFields(flat: readonly string[]): RequestFields | undefined {
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let regularSeen = false;
  let contentLength = -1;
  const fields: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen || !validValue(value)) return undefined;
      switch (name) {
        case ':method':
          if (method !== undefined || value.length === 0) return undefined;
          method = value;
          break;
        case ':path':
          if (path !== undefined) return undefined;
          path = value;
          break;
        case ':scheme':
          if (scheme !== undefined) return undefined;
          scheme = value;
          break;
        case ':authority':
          if (authority !== undefined) return undefined;
          authority = value;
          break;
        default:
          return undefined;
      }
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
  if (method === undefined) return undefined;
  if (method === 'CONNECT') {
    if (scheme !== undefined || path !== undefined || authority === undefined) return undefined;
  } else if (scheme === undefined || path === undefined || path.length === 0) return undefined;
  return { method, path, scheme, authority, fields, contentLength };
}

/** Trailer fields, flat, or undefined when malformed (pseudo-headers included). */
export function trailerFields(flat: readonly string[]): string[] | undefined {
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    if (name.charCodeAt(0) === 0x3a || !validRegular(name, flat[i + 1] as string)) return undefined;
  }
  return flat as string[];
}
