/**
 * Request path normalization before any filter or route sees the path (Envoy HCM
 * `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action`), selected as Istio's
 * MeshConfig `pathNormalization.normalization` does:
 *
 * | mode                       | Envoy settings                                        |
 * |----------------------------|-------------------------------------------------------|
 * | `NONE`                     | nothing                                               |
 * | `BASE` (Istio's default)   | normalize_path (RFC 3986 §6.2.2 + dot segments)       |
 * | `MERGE_SLASHES`            | BASE + merge_slashes                                  |
 * | `DECODE_AND_MERGE_SLASHES` | MERGE_SLASHES + %2F/%5C unescaped (UNESCAPE_AND_FORWARD) |
 *
 * Normalizing (the path the upstream receives changes too, as in Envoy, so policy and app agree):
 * the fragment is dropped; percent-encoded unreserved characters are decoded and other escapes
 * uppercased (so `%2e%2e` is `..` and `%61dmin` is `admin`); `.` and `..` segments are resolved
 * (never above the root); the query is kept as is. `%2F` stays encoded below DECODE_AND_MERGE.
 * An absolute-form target is reduced to its path; `*` (OPTIONS) is kept.
 * A path that does not start with `/` cannot be normalized: the request is refused (400, Envoy's
 * `path_normalization_failed`).
 */
import type { PathNormalizationIR } from '../config/ir-security.js';

export type PathNormalization = PathNormalizationIR;

export const DEFAULT_PATH_NORMALIZATION: PathNormalization = 'BASE';

const HEX = '0123456789ABCDEF';
/** Characters that may need normalizing in BASE mode: escapes, dots, fragments. */
const NEEDS_WORK = /[%.#]/;

/** The normalized `:path` (query kept), or `undefined` when it cannot be normalized. */
export function normalizePath(raw: string, mode: PathNormalization = DEFAULT_PATH_NORMALIZATION): string | undefined {
  if (mode === 'NONE' || raw === '*') return raw;
  // Hot path: an origin-form path with nothing to normalize is returned as is, without scanning twice.
  if (mode === 'BASE' && raw.charCodeAt(0) === 0x2f && !NEEDS_WORK.test(raw)) return raw;
  const target = raw.charCodeAt(0) === 0x2f ? raw : originForm(raw);
  const hash = target.indexOf('#');
  const noFragment = hash >= 0 ? target.slice(0, hash) : target;
  const q = noFragment.indexOf('?');
  const rawPath = q >= 0 ? noFragment.slice(0, q) : noFragment;
  const query = q >= 0 ? noFragment.slice(q) : '';
  if (!rawPath.startsWith('/')) return undefined;
  let path = decodeUnreserved(rawPath, mode === 'DECODE_AND_MERGE_SLASHES');
  if (path === undefined) return undefined;
  if (mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/\/{2,}/g, '/');
  path = removeDotSegments(path);
  if (mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') path = path.replace(/\/{2,}/g, '/');
  return path + query;
}

/** An absolute-form target (`http://host/p`, HTTP/1.1 to a proxy) becomes its path, as Envoy does. */
function originForm(raw: string): string {
  const m = /^https?:\/\/[^/?#]*/i.exec(raw);
  if (!m) return raw;
  const rest = raw.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** Decodes `%XX` of unreserved characters (and `/`, `\` when asked); uppercases the rest. */
function decodeUnreserved(path: string, slashes: boolean): string | undefined {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    const code = parseInt(hex, 16);
    if (isUnreserved(code)) out += String.fromCharCode(code);
    else if (slashes && code === 0x2f) out += '/';
    else if (slashes && code === 0x5c) out += '\\';
    else out += `%${HEX[code >> 4]}${HEX[code & 15]}`;
    i += 2;
  }
  return out;
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
