/**
 * What a plugin may put in a header map, checked at the host so a bad edit is answered with
 * BAD_ARGUMENT at the call (Envoy rejects invalid header strings in its host functions) instead of
 * throwing later inside Node's http when the headers are written. Names are RFC 9110 tokens, or a
 * `:`-prefixed token for pseudo-headers. Values are bytes (latin1 strings, see header-pairs.ts):
 * any byte from 0x80 up passes through as in Envoy, while CR, LF and NUL are refused (Envoy's
 * rule) and so are the other control bytes except tab, which Node's http codec cannot write (it
 * would throw when the headers go out). `:path` and `:authority` also take no spaces and may not
 * be empty.
 */
import type { Pair } from './header-pairs.js';

const TOKEN = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_TARGET = /[^\x21-\x7e\x80-\xff]/;

export function validHeaderName(name: string): boolean {
  return TOKEN.test(name);
}

export function validHeaderValue(name: string, value: string): boolean {
  const n = name.toLowerCase();
  if (n === ':path' || n === ':authority') return value.length > 0 && !BAD_TARGET.test(value);
  return !BAD_VALUE.test(value);
}

export function validHeader(name: string, value: string): boolean {
  return validHeaderName(name) && validHeaderValue(name, value);
}

/** `pseudo: false` for headers that become plain response headers (local replies). */
export function validPairs(pairs: readonly Pair[], pseudo = true): boolean {
  for (const [k, v] of pairs) if (!validHeader(k, v) || (!pseudo && k.charCodeAt(0) === 0x3a)) return false;
  return true;
}
