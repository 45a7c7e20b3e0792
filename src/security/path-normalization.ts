/**
 * Request path normalization before any filter or route sees the path (Envoy HCM
 * `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action`), selected as Istio's
 * MeshConfig `pathNormalization.normalization` does (istio.io "Authorization Policy
 * Normalization"; istiod sets the HCM fields below):
 *
 * | mode                       | Envoy settings                                                   |
 * |----------------------------|------------------------------------------------------------------|
 * | `NONE`                     | nothing                                                          |
 * | `BASE` (Istio's default)   | normalize_path                                                   |
 * | `MERGE_SLASHES`            | BASE + merge_slashes                                             |
 * | `DECODE_AND_MERGE_SLASHES` | MERGE_SLASHES + path_with_escaped_slashes_action UNESCAPE_AND_FORWARD |
 *
 * The steps, in Envoy's order (the path changes for the upstream too, so policy and app agree):
 * 1. DECODE_AND_MERGE_SLASHES only: `%2F`/`%2f` → `/` and `%5C`/`%5c` → `\`.
 * 2. normalize_path (Envoy's snapshot of Chromium's path canonicalizer): `\` is a `/`;
 *    escapes of unreserved characters (ALPHA, DIGIT, `-._~`) are decoded once, other escapes are
 *    kept exactly as written (so `%2F` stays an encoded slash below DECODE_AND_MERGE_SLASHES);
 *    characters a path may not carry raw (controls, space, `"<>\`{|}`, non-ASCII) are escaped;
 *    `.` and `..` segments are resolved, never above the root.
 * 3. MERGE_SLASHES and DECODE_AND_MERGE_SLASHES: runs of `/` become one.
 *
 * In every mode, NONE included, a path with `%00` (or a raw NUL) is refused: Istio documents
 * that such a request is always rejected with 400. The fragment is dropped and an absolute-form
 * target is reduced to its path; the query is kept as is; `*` (OPTIONS) is kept.
 *
 * Stricter than Envoy, on purpose: an invalid escape (`%zz`, a trailing `%`) is refused instead of
 * being passed through, so no later decoder can read a different path than policy matched.
 * A path that does not start with `/` is refused too (Envoy's `path_normalization_failed`).
 */
import type { PathNormalizationIR } from '../config/ir-security.js';

export type PathNormalization = PathNormalizationIR;

export const DEFAULT_PATH_NORMALIZATION: PathNormalization = 'BASE';

const HEX = '0123456789ABCDEF';
/**
 * Characters that may need work outside NONE: escapes, dots, fragments, backslashes, and anything
 * the canonicalizer escapes. A path without any of them is already normal (the common case).
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
const NEEDS_WORK = /[%.#\\\x00-\x20"<>`{|}\x7f-\uffff]/;
/** `%00` in any case, for the NONE mode (which otherwise forwards the path untouched). */
const ESCAPED_NUL = /%00/;

/** The normalized `:path` (query kept), or `undefined` when the request must be refused (400). */
export function normalizePath(raw: string, mode: PathNormalization = DEFAULT_PATH_NORMALIZATION): string | undefined {
  if (raw === '*') return raw;
  if (mode === 'NONE') return hasNul(pathPart(raw)) ? undefined : raw;
  // Hot path: an origin-form path with nothing to normalize is returned as is, without scanning twice.
  const plain = raw.charCodeAt(0) === 0x2f && !NEEDS_WORK.test(raw);
  if (plain && mode === 'BASE') return raw;
  const target = raw.charCodeAt(0) === 0x2f ? raw : originForm(raw);
  const hash = target.indexOf('#');
  const noFragment = hash >= 0 ? target.slice(0, hash) : target;
  const q = noFragment.indexOf('?');
  let path = q >= 0 ? noFragment.slice(0, q) : noFragment;
  const query = q >= 0 ? noFragment.slice(q) : '';
  if (!path.startsWith('/')) return undefined;
  if (!plain) {
    if (mode === 'DECODE_AND_MERGE_SLASHES') path = unescapeSlashes(path);
    const canonical = canonicalPath(path);
    if (canonical === undefined) return undefined;
    path = canonical;
  }
  if (mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') path = mergeSlashes(path);
  return path + query;
}

/** The path of a request target: before `?` and `#`. */
function pathPart(raw: string): string {
  let end = raw.length;
  const q = raw.indexOf('?');
  if (q >= 0) end = q;
  const h = raw.indexOf('#');
  if (h >= 0 && h < end) end = h;
  return raw.slice(0, end);
}

function hasNul(path: string): boolean {
  return ESCAPED_NUL.test(path) || path.includes('\0');
}

/** An absolute-form target (`http://host/p`, HTTP/1.1 to a proxy) becomes its path, as Envoy does. */
function originForm(raw: string): string {
  const m = /^https?:\/\/[^/?#]*/i.exec(raw);
  if (!m) return raw;
  const rest = raw.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Envoy's UNESCAPE_AND_FORWARD: `%2F` → `/`, `%5C` → `\` (either hex case), nothing else. */
function unescapeSlashes(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%(2f|5c)/gi, (m) => (m[1] === '2' ? '/' : '\\'));
}

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** Characters the canonicalizer escapes when they appear raw (Chromium's path table). */
function mustEscape(c: number): boolean {
  return c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x7b || c === 0x7c || c === 0x7d;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function escapeByte(b: number): string {
  return `%${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * Envoy's normalize_path on a path that starts with `/`: backslashes become slashes, unreserved
 * escapes are decoded, unsafe characters escaped, dot segments resolved. `undefined` for a NUL
 * (escaped or raw) or an invalid escape.
 */
function canonicalPath(path: string): string | undefined {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x5c) {
      out += '/';
    } else if (c === 0x25) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      const code = hi * 16 + lo;
      if (code === 0) return undefined;
      // Kept exactly as written (hex case included): the server may be sensitive to it.
      out += isUnreserved(code) ? String.fromCharCode(code) : path.slice(i, i + 3);
      i += 2;
    } else if (c === 0) {
      return undefined;
    } else if (mustEscape(c)) {
      if (c <= 0xff) out += escapeByte(c);
      else for (const b of Buffer.from(String.fromCodePoint(path.codePointAt(i) as number), 'utf8')) out += escapeByte(b);
      if (c >= 0xd800 && c <= 0xdbff) i++;
    } else {
      out += path[i] as string;
    }
  }
  return removeDotSegments(out);
}

/** RFC 3986 §5.2.4 on an absolute path; `..` at the root stays at the root. */
function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

function mergeSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}
