/**
 * Gateway API `CORS` filter (GEP-1767, experimental channel) → the same {@link CorsPolicyIR} a
 * VirtualService `corsPolicy` becomes, so one CORS filter serves both. `allowOrigins` entries are
 * `scheme://host[:port]` where the host's leftmost label may be `*`, or `*` alone (any origin);
 * wildcards become anchored RE2 patterns here, once. `maxAge` is in seconds, 5 when unset.
 */
import type { CorsPolicyIR, ValueMatchIR } from '../ir-routes.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

/** The GEP's default for `maxAge` (seconds). */
const DEFAULT_MAX_AGE_SECONDS = 5;
const ORIGIN_RE = /^(\*|[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?)$/i;

function escapeRe2(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

function originMatch(origin: string): ValueMatchIR {
  if (origin === '*') return { kind: 'regex', regex: { source: '.*', ignoreCase: false } };
  const star = origin.indexOf('://*.');
  if (star < 0) return { kind: 'exact', value: origin, ignoreCase: true };
  // `https://*.example.com` matches one or more labels in front of `example.com`, never none.
  const scheme = origin.slice(0, star + 3);
  const rest = origin.slice(star + 4);
  return { kind: 'regex', regex: { source: `${escapeRe2(scheme)}[^/:]+${escapeRe2(rest)}`, ignoreCase: true } };
}

export function readCorsFilter(r: ObjectReader, base: FieldPath): CorsPolicyIR | undefined {
  if (r.record(base, true) === undefined) return undefined;
  const allowOrigins: ValueMatchIR[] = [];
  r.stringList([...base, 'allowOrigins']).forEach((o, i) => {
    if (ORIGIN_RE.test(o)) allowOrigins.push(originMatch(o));
    else r.error([...base, 'allowOrigins', i], 'FIELD_INVALID', `${JSON.stringify(o)} is not an origin (scheme://host[:port], host may start with "*.", or "*")`);
  });
  const maxAge = r.integer([...base, 'maxAge'], { min: 1 }) ?? DEFAULT_MAX_AGE_SECONDS;
  return {
    allowOrigins,
    allowMethods: r.stringList([...base, 'allowMethods']),
    allowHeaders: r.stringList([...base, 'allowHeaders']),
    exposeHeaders: r.stringList([...base, 'exposeHeaders']),
    maxAgeSeconds: maxAge,
    allowCredentials: r.boolean([...base, 'allowCredentials']) ?? false,
  };
}
