/**
 * The header maps a plugin reads and edits, as one interface over the proxy's own structures: the
 * filter API's request and response contexts (pseudo-headers mapped to their fields, edits made
 * in place so nothing is copied back) and plain pair lists (http_call responses, trailers).
 * Names are lower-cased, as Envoy does.
 */
import type { HeaderMap, RequestContext, ResponseContext } from '../filter/api.js';
import type { Pair } from './header-pairs.js';

export interface HeaderAccess {
  pairs(): Pair[];
  /** The first value, or undefined. */
  get(name: string): string | undefined;
  add(name: string, value: string): void;
  replace(name: string, value: string): void;
  remove(name: string): void;
  setAll(pairs: readonly Pair[]): void;
}

function mapPairs(map: HeaderMap, out: Pair[]): Pair[] {
  for (const [k, v] of map) {
    if (typeof v === 'string') out.push([k, v]);
    else for (const x of v) out.push([k, x]);
  }
  return out;
}

function clearMap(map: HeaderMap): void {
  for (const k of [...map].map(([name]) => name)) map.delete(k);
}

export class PairsAccess implements HeaderAccess {
  private list: Pair[];
  constructor(pairs: readonly Pair[]) {
    this.list = pairs.map(([k, v]) => [k.toLowerCase(), v] as const);
  }
  pairs(): Pair[] {
    return this.list.slice();
  }
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    return this.list.find(([k]) => k === n)?.[1];
  }
  add(name: string, value: string): void {
    this.list.push([name.toLowerCase(), value]);
  }
  replace(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }
  remove(name: string): void {
    const n = name.toLowerCase();
    this.list = this.list.filter(([k]) => k !== n);
  }
  setAll(pairs: readonly Pair[]): void {
    this.list = pairs.map(([k, v]) => [k.toLowerCase(), v] as const);
  }
}

/** A plain header map (trailers): no pseudo-headers, edits in place. */
export class MapAccess implements HeaderAccess {
  constructor(private readonly map: HeaderMap) {}
  pairs(): Pair[] {
    return mapPairs(this.map, []);
  }
  get(name: string): string | undefined {
    return this.map.first(name);
  }
  add(name: string, value: string): void {
    this.map.append(name.toLowerCase(), value);
  }
  replace(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  remove(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  setAll(pairs: readonly Pair[]): void {
    clearMap(this.map);
    for (const [k, v] of pairs) this.add(k, v);
  }
}

/** An HTTP method token (RFC 9110 §9.1): what Node and undici accept on the wire. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Request headers: the pseudo-headers are the request context's fields, edited in place, so an
 * edit by a plugin is what goes upstream (Envoy lets plugins set all four). A `:method` that is
 * not a token and a `:scheme` other than http/https are ignored (neither codec could send them).
 */
export class RequestHeadersAccess implements HeaderAccess {
  constructor(private readonly ctx: RequestContext) {}
  pairs(): Pair[] {
    const c = this.ctx;
    return mapPairs(c.headers, [
      [':authority', c.authority],
      [':path', c.path],
      [':method', c.method],
      [':scheme', c.scheme],
    ]);
  }
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    switch (n) {
      case ':authority':
      case 'host':
        return n === 'host' && this.ctx.headers.has('host') ? this.ctx.headers.first('host') : this.ctx.authority;
      case ':path':
        return this.ctx.path;
      case ':method':
        return this.ctx.method;
      case ':scheme':
        return this.ctx.scheme;
      default:
        return this.ctx.headers.first(n);
    }
  }
  private pseudo(name: string, value: string): boolean {
    if (name === ':authority') this.ctx.authority = value;
    else if (name === ':path') this.ctx.path = value;
    else if (name === ':method') {
      if (METHOD_TOKEN.test(value)) this.ctx.method = value;
    } else if (name === ':scheme') {
      const scheme = value.toLowerCase();
      if (scheme === 'http' || scheme === 'https') this.ctx.scheme = scheme;
    }
    return name.charCodeAt(0) === 0x3a;
  }
  add(name: string, value: string): void {
    const n = name.toLowerCase();
    if (!this.pseudo(n, value)) this.ctx.headers.append(n, value);
  }
  replace(name: string, value: string): void {
    const n = name.toLowerCase();
    if (!this.pseudo(n, value)) this.ctx.headers.set(n, value);
  }
  remove(name: string): void {
    const n = name.toLowerCase();
    if (n.charCodeAt(0) !== 0x3a) this.ctx.headers.delete(n);
  }
  setAll(pairs: readonly Pair[]): void {
    clearMap(this.ctx.headers);
    for (const [k, v] of pairs) this.add(k, v);
  }
}

/** Response headers: `:status` maps to the response's status. */
export class ResponseHeadersAccess implements HeaderAccess {
  constructor(private readonly res: ResponseContext) {}
  pairs(): Pair[] {
    return mapPairs(this.res.headers, [[':status', String(this.res.status)]]);
  }
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    return n === ':status' ? String(this.res.status) : this.res.headers.first(n);
  }
  private pseudo(name: string, value: string): boolean {
    if (name === ':status') {
      const s = Number(value);
      if (Number.isInteger(s) && s >= 100 && s <= 999) this.res.status = s;
    }
    return name.charCodeAt(0) === 0x3a;
  }
  add(name: string, value: string): void {
    const n = name.toLowerCase();
    if (!this.pseudo(n, value)) this.res.headers.append(n, value);
  }
  replace(name: string, value: string): void {
    const n = name.toLowerCase();
    if (!this.pseudo(n, value)) this.res.headers.set(n, value);
  }
  remove(name: string): void {
    const n = name.toLowerCase();
    if (n.charCodeAt(0) !== 0x3a) this.res.headers.delete(n);
  }
  setAll(pairs: readonly Pair[]): void {
    clearMap(this.res.headers);
    for (const [k, v] of pairs) this.add(k, v);
  }
}
