/**
 * What a header name and value from configuration may contain (RFC 9110 §5.1, §5.5): a token
 * for the name; visible ASCII, space, tab and obs-text for the value, never CR, LF or NUL. A
 * value with CR/LF would let a config object (or anyone who can write one) inject headers or a
 * second request into every proxied message, so such objects are rejected at translation time.
 */

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isHeaderName(name: string): boolean {
  return TOKEN_RE.test(name);
}

/** True when `value` is a legal field value (no control characters other than tab). */
export function isHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}
