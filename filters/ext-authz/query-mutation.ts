/**
 * `OkHttpResponse.query_parameters_to_set` / `query_parameters_to_remove` applied to a request path,
 * as Envoy's ext_authz does before the request goes upstream: named parameters (case-sensitive,
 * compared decoded) are removed, then each one to set replaces the first parameter of that name
 * (dropping repeats) or is appended. Other parameters keep their order and their encoding.
 */

export interface QueryParameter {
  readonly key: string;
  readonly value: string;
}

function keyOf(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq < 0 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

export function mutateQuery(path: string, set: readonly QueryParameter[], remove: readonly string[]): string {
  if (set.length === 0 && remove.length === 0) return path;
  const q = path.indexOf('?');
  const base = q < 0 ? path : path.slice(0, q);
  let pairs = q < 0 || q === path.length - 1 ? [] : path.slice(q + 1).split('&').filter((p) => p !== '');
  if (remove.length > 0) {
    const gone = new Set(remove);
    pairs = pairs.filter((p) => !gone.has(keyOf(p)));
  }
  for (const { key, value } of set) {
    const encoded = `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
    const first = pairs.findIndex((p) => keyOf(p) === key);
    if (first < 0) {
      pairs.push(encoded);
      continue;
    }
    pairs = pairs.filter((p, i) => i === first || keyOf(p) !== key);
    pairs[first] = encoded;
  }
  return pairs.length === 0 ? base : `${base}?${pairs.join('&')}`;
}
