/**
 * The HPACK static table (RFC 7541 Appendix A), 1-based, and the encoder's lookups into it:
 * by name, then by value within a name, so an exact match needs no `name + value` string.
 */

/** [name, value] for indices 1..61. */
const ENTRIES: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

export const STATIC_TABLE_LENGTH = ENTRIES.length;

/** Index i (1-based) at [i]; [0] is unused (index 0 is an error). */
export const STATIC_NAMES: readonly string[] = ['', ...ENTRIES.map((e) => e[0])];
export const STATIC_VALUES: readonly string[] = ['', ...ENTRIES.map((e) => e[1])];

export interface StaticName {
  /** The first index with this name. */
  readonly index: number;
  /** Value → index, for the names whose entries carry values (":method" etc.). */
  readonly values: ReadonlyMap<string, number> | undefined;
}

function buildByName(): ReadonlyMap<string, StaticName> {
  const m = new Map<string, { index: number; values: Map<string, number> | undefined }>();
  for (let i = 1; i <= ENTRIES.length; i++) {
    const [name, value] = ENTRIES[i - 1] as readonly [string, string];
    let e = m.get(name);
    if (!e) m.set(name, (e = { index: i, values: undefined }));
    if (value !== '') (e.values ??= new Map()).set(value, i);
  }
  return m;
}

export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = buildByName();
