/**
 * VirtualService `HTTPMatchRequest` → {@link RouteMatchIR}: `uri` (exact/prefix/regex) with
 * `ignoreUriCase`, `headers` and `withoutHeaders` (an empty matcher checks presence),
 * `queryParams`, `method` (exact), `authority`, `port`. `sourceLabels`, `sourceNamespace` and
 * `gateways` are not applied by waypoints (istio/istio#51565): a warning says so.
 */
import { checkRegex } from '../../routing/compile-regex.js';
import type { HeaderMatchIR, PathMatchIR, QueryMatchIR, RouteMatchIR, ValueMatchIR } from '../ir-routes.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

const CATCH_ALL: RouteMatchIR = Object.freeze({ headers: Object.freeze([]), queryParams: Object.freeze([]) });

export function readVsMatches(r: ObjectReader, base: FieldPath): RouteMatchIR[] {
  const items = r.list([...base, 'match']);
  if (items.length === 0) return [CATCH_ALL];
  return items.map((_, i) => readMatch(r, [...base, 'match', i]));
}

function readMatch(r: ObjectReader, base: FieldPath): RouteMatchIR {
  r.record(base, true);
  const ignoreCase = r.boolean([...base, 'ignoreUriCase']) ?? false;
  const uri = r.has([...base, 'uri']) ? readStringMatch(r, [...base, 'uri'], ignoreCase) : undefined;
  let path: PathMatchIR | undefined;
  if (uri) {
    switch (uri.kind) {
      case 'exact':
        path = { kind: 'exact', value: uri.value, ignoreCase };
        break;
      case 'prefix':
        path = { kind: 'rawPrefix', value: uri.value, ignoreCase };
        break;
      case 'regex':
        path = { kind: 'regex', regex: uri.regex };
        break;
      case 'present':
        break;
    }
  }
  const headers: HeaderMatchIR[] = [
    ...readNamed(r, [...base, 'headers'], true).map((m) => ({ ...m, invert: false })),
    ...readNamed(r, [...base, 'withoutHeaders'], true).map((m) => ({ ...m, invert: true })),
  ];
  const queryParams: QueryMatchIR[] = readNamed(r, [...base, 'queryParams'], false);
  let method: string | undefined;
  if (r.has([...base, 'method'])) {
    const m = readStringMatch(r, [...base, 'method'], false);
    if (m?.kind === 'exact') method = m.value.toUpperCase();
    else if (m) r.error([...base, 'method'], 'UNSUPPORTED', 'only an exact method match is supported');
  }
  const authority = r.has([...base, 'authority']) ? readStringMatch(r, [...base, 'authority'], false) : undefined;
  const port = r.port([...base, 'port'], false);
  for (const f of ['sourceLabels', 'sourceNamespace', 'gateways'] as const) {
    if (r.has([...base, f])) r.warn([...base, f], 'UNSUPPORTED', `${f} is not applied by waypoints (Istio ambient); this match ignores it`);
  }
  return {
    ...(path ? { path } : {}),
    ...(method !== undefined ? { method } : {}),
    headers,
    queryParams,
    ...(authority ? { authority } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

function readNamed(r: ObjectReader, base: FieldPath, header: boolean): QueryMatchIR[] {
  const rec = r.record(base);
  if (!rec) return [];
  const out: QueryMatchIR[] = [];
  for (const name of Object.keys(rec)) {
    const m = readStringMatch(r, [...base, name], false);
    if (m) out.push({ name: header ? name.toLowerCase() : name, match: m });
  }
  return out;
}

/** Istio `StringMatch`: one of `exact`, `prefix`, `regex`; an empty one means "present". */
export function readStringMatch(r: ObjectReader, base: FieldPath, ignoreCase: boolean): ValueMatchIR | undefined {
  const rec = r.record(base);
  if (!rec) return undefined;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => rec[k] !== undefined && rec[k] !== null);
  if (set.length > 1) {
    r.error(base, 'FIELD_INVALID', `set only one of exact, prefix, regex (got ${set.join(', ')})`);
    return undefined;
  }
  const kind = set[0];
  if (kind === undefined) return { kind: 'present' };
  const value = r.string([...base, kind], { allowEmpty: true });
  if (value === undefined) return undefined;
  if (kind === 'regex') {
    const bad = checkRegex(value);
    if (bad !== undefined) {
      r.error([...base, kind], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
      return undefined;
    }
    return { kind: 'regex', regex: { source: value, ignoreCase } };
  }
  return { kind, value, ignoreCase };
}
