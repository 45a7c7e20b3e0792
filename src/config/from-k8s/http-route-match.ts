/**
 * Gateway API `HTTPRouteMatch` → {@link RouteMatchIR}: path (`Exact`, `PathPrefix`,
 * `RegularExpression`; default `PathPrefix /`), headers (`Exact`, `RegularExpression`; names
 * case-insensitive), query params (`Exact`, `RegularExpression`), method. As the spec says, when
 * several header (or query) matches name the same key only the first is considered.
 */
import type { HeaderMatchIR, PathMatchIR, QueryMatchIR, RouteMatchIR, ValueMatchIR } from '../ir-routes.js';
import { checkRegex } from '../../routing/compile-regex.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

export const CATCH_ALL_MATCH: RouteMatchIR = Object.freeze({
  path: Object.freeze({ kind: 'prefix', value: '/', ignoreCase: false }),
  headers: Object.freeze([]),
  queryParams: Object.freeze([]),
});

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** A rule's `matches`; the catch-all when absent or empty. */
export function readHttpMatches(r: ObjectReader, base: FieldPath): RouteMatchIR[] {
  const items = r.list([...base, 'matches']);
  if (items.length === 0) return [CATCH_ALL_MATCH];
  return items.map((_, i) => readMatch(r, [...base, 'matches', i]));
}

function readMatch(r: ObjectReader, base: FieldPath): RouteMatchIR {
  r.record(base);
  const path = readPath(r, [...base, 'path']);
  const methodText = r.string([...base, 'method']);
  let method: string | undefined;
  if (methodText !== undefined) {
    if (!METHODS.has(methodText)) r.error([...base, 'method'], 'FIELD_INVALID', `${JSON.stringify(methodText)} is not an HTTP method the spec allows`);
    else method = methodText;
  }
  const headers: HeaderMatchIR[] = [];
  r.list([...base, 'headers']).forEach((_, i) => {
    const m = readNamedValue(r, [...base, 'headers', i], true);
    if (m && !headers.some((h) => h.name === m.name)) headers.push({ name: m.name, match: m.match, invert: false });
  });
  const queryParams: QueryMatchIR[] = [];
  r.list([...base, 'queryParams']).forEach((_, i) => {
    const m = readNamedValue(r, [...base, 'queryParams', i], false);
    if (m && !queryParams.some((q) => q.name === m.name)) queryParams.push(m);
  });
  return { path, ...(method !== undefined ? { method } : {}), headers, queryParams };
}

function readPath(r: ObjectReader, base: FieldPath): PathMatchIR {
  if (!r.has(base)) return CATCH_ALL_MATCH.path as PathMatchIR;
  const type = r.string([...base, 'type']) ?? 'PathPrefix';
  const value = r.string([...base, 'value']) ?? '/';
  switch (type) {
    case 'Exact':
    case 'PathPrefix':
      if (!value.startsWith('/')) r.error([...base, 'value'], 'FIELD_INVALID', 'must be an absolute path starting with /');
      if (value.includes('//') || value.includes('?') || value.includes('#')) {
        r.error([...base, 'value'], 'FIELD_INVALID', 'must not contain //, ? or #');
      }
      return { kind: type === 'Exact' ? 'exact' : 'prefix', value, ignoreCase: false };
    case 'RegularExpression': {
      const bad = checkRegex(value);
      if (bad !== undefined) r.error([...base, 'value'], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
      return { kind: 'regex', regex: { source: value, ignoreCase: false } };
    }
    default:
      r.error([...base, 'type'], 'FIELD_INVALID', `must be Exact, PathPrefix or RegularExpression, got ${JSON.stringify(type)}`);
      return CATCH_ALL_MATCH.path as PathMatchIR;
  }
}

/** A header or query param match: `{type, name, value}`. */
function readNamedValue(r: ObjectReader, base: FieldPath, header: boolean): QueryMatchIR | undefined {
  const rawName = r.string([...base, 'name'], { required: true });
  const value = r.string([...base, 'value'], { required: true, allowEmpty: true });
  const type = r.string([...base, 'type']) ?? 'Exact';
  if (rawName === undefined || value === undefined) return undefined;
  if (header && !HEADER_NAME_RE.test(rawName)) {
    r.error([...base, 'name'], 'FIELD_INVALID', `${JSON.stringify(rawName)} is not a valid header name`);
    return undefined;
  }
  const name = header ? rawName.toLowerCase() : rawName;
  let match: ValueMatchIR;
  switch (type) {
    case 'Exact':
      match = { kind: 'exact', value, ignoreCase: false };
      break;
    case 'RegularExpression': {
      const bad = checkRegex(value);
      if (bad !== undefined) {
        r.error([...base, 'value'], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
        return undefined;
      }
      match = { kind: 'regex', regex: { source: value, ignoreCase: false } };
      break;
    }
    default:
      r.error([...base, 'type'], 'FIELD_INVALID', `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
      return undefined;
  }
  return { name, match };
}
