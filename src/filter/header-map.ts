/**
 * The mutable header map filters read and edit. Names are case-insensitive (stored lowercase, as
 * HTTP/2 and Node's parsers deliver them); a name may hold several values (`set-cookie`, repeated
 * `x-forwarded-for` lines), kept in order.
 *
 * A `Map`, not the parser's plain object: a header named `__proto__` or `constructor` must be an
 * ordinary header, never a prototype lookup.
 */
export type HeaderValue = string | readonly string[];

export class HeaderMap implements Iterable<[string, HeaderValue]> {
  private readonly map = new Map<string, HeaderValue>();

  /**
   * Copies headers from a Node header object (`IncomingHttpHeaders`). Keys starting with `:`
   * (HTTP/2 pseudo-headers) are skipped: the request context carries them as fields.
   */
  static fromNode(headers: Readonly<Record<string, string | readonly string[] | undefined>>): HeaderMap {
    const m = new HeaderMap();
    for (const name in headers) {
      if (!Object.hasOwn(headers, name) || name.charCodeAt(0) === 0x3a /* ':' */) continue;
      const v = headers[name];
      if (v !== undefined) m.map.set(name.toLowerCase(), v);
    }
    return m;
  }

  /**
   * Builds the map from a raw field list (`[name, value, name, value, ...]`, as Node's
   * `rawHeaders`), keeping every repeated field as its own value so policy can see them all
   * (Node's `headers` object joins them with `, `). As Node's parsers do, `cookie` lines are
   * joined with `; ` (one header upstream, RFC 9113 §8.2.3) and `host` and `content-length` keep
   * their first value (see {@link SINGLETON_FIELDS}).
   * Pseudo-headers are skipped.
   */
  static fromRaw(raw: readonly string[]): HeaderMap {
    const m = new HeaderMap();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (name.charCodeAt(0) === 0x3a /* ':' */) continue;
      const value = raw[i + 1] as string;
      const prev = m.map.get(name);
      if (prev === undefined) m.map.set(name, value);
      else if (name === 'cookie') m.map.set(name, `${m.get(name) ?? ''}; ${value}`);
      else if (!SINGLETON_FIELDS.has(name)) m.append(name, value);
    }
    return m;
  }

  get size(): number {
    return this.map.size;
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  /** The value, several values joined with `, ` (RFC 9110 §5.3), or `undefined`. */
  get(name: string): string | undefined {
    const v = this.map.get(name.toLowerCase());
    if (v === undefined || typeof v === 'string') return v;
    return v.join(', ');
  }

  /**
   * The value as Envoy's header matchers see it (`HeaderUtility::getAllOfHeaderAsString`): several
   * values joined with `,` and no space, so `x: a` + `x: b` is `a,b`. Used by authorization
   * `request.headers[...]` conditions and route header matches.
   */
  joined(name: string): string | undefined {
    const v = this.map.get(name.toLowerCase());
    if (v === undefined || typeof v === 'string') return v;
    return v.join(',');
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): readonly string[] {
    const v = this.map.get(name.toLowerCase());
    if (v === undefined) return EMPTY;
    return typeof v === 'string' ? [v] : v;
  }

  /** The first value of `name` (no array built), or `undefined`. */
  first(name: string): string | undefined {
    const v = this.map.get(name.toLowerCase());
    return v === undefined || typeof v === 'string' ? v : v[0];
  }

  /** Replaces every value of `name`. */
  set(name: string, value: HeaderValue): void {
    this.map.set(name.toLowerCase(), value);
  }

  /** Adds a value after the existing ones. */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const prev = this.map.get(key);
    if (prev === undefined) this.map.set(key, value);
    else this.map.set(key, typeof prev === 'string' ? [prev, value] : [...prev, value]);
  }

  delete(name: string): boolean {
    return this.map.delete(name.toLowerCase());
  }

  [Symbol.iterator](): IterableIterator<[string, HeaderValue]> {
    return this.map.entries();
  }

  /** A plain object copy (admin dumps, tests). */
  toObject(): Record<string, HeaderValue> {
    return Object.fromEntries(this.map);
  }
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Fields kept once (the first): the framing and the authority, whose repeats the codecs already
 * refuse (a second `host` is 400; differing `content-length`s are 400). Every other field keeps
 * all its values, as Envoy's header map does: Node's parsers keep `authorization`, `user-agent`,
 * `referer`... once, which let a second value slip past policy (a DENY on
 * `request.headers[user-agent]` judged the first line only) and a second bearer token go
 * unverified.
 */
const SINGLETON_FIELDS: ReadonlySet<string> = new Set(['host', 'content-length']);
