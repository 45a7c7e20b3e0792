/**
 * VirtualService `Headers` (`{request: {set, add, remove}, response: {...}}`, `set`/`add` as
 * maps) → header-modifier filters. Used for a route's `headers` and a destination's `headers`.
 */
import type { HeaderMutationIR, RouteFilterIR } from '../ir-routes.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { isHeaderName, isHeaderValue } from './header-field.js';

export function readVsHeaders(r: ObjectReader, base: FieldPath): RouteFilterIR[] {
  if (r.record(base) === undefined) return [];
  const out: RouteFilterIR[] = [];
  const request = readOperations(r, [...base, 'request']);
  if (request) out.push({ kind: 'requestHeaders', mutation: request });
  const response = readOperations(r, [...base, 'response']);
  if (response) out.push({ kind: 'responseHeaders', mutation: response });
  return out;
}

function readOperations(r: ObjectReader, base: FieldPath): HeaderMutationIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const pairs = (key: 'set' | 'add'): [string, string][] => {
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(r.stringMap([...base, key]))) {
      if (!isHeaderName(k)) r.error([...base, key, k], 'FIELD_INVALID', `${JSON.stringify(k)} is not a valid header name`);
      else if (!isHeaderValue(v)) r.error([...base, key, k], 'FIELD_INVALID', `${JSON.stringify(v)} is not a valid header value (control characters such as CR/LF)`);
      else out.push([k.toLowerCase(), v]);
    }
    return out;
  };
  return { set: pairs('set'), add: pairs('add'), remove: r.stringList([...base, 'remove']).map((n) => n.toLowerCase()) };
}
