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
