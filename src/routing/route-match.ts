/**
 * A compiled {@link RouteMatchIR}: everything a request is checked against, prepared once per
 * snapshot (regexes compiled, prefixes normalised, case-folded values) so matching a request is
 * string comparisons and RE2 runs, with no allocation beyond splitting off the query.
 */
import type { RE2JS } from 're2js';
import type { HeaderMatchIR, PathMatchIR, QueryMatchIR, RouteMatchIR, ValueMatchIR } from '../config/ir-routes.js';
import type { RequestContext } from '../filter/api.js';
import { compileRegex } from './compile-regex.js';
import type { IndexKey } from './route-index.js';

/** The parts of a request every match of a table looks at, split once per request. */
export class RequestView {
  readonly pathOnly: string;
  private readonly rawQuery: string;
  private query: Map<string, string> | undefined;
  private lowerPath: string | undefined;
  /**
   * The header read last: a table often matches the same header in many rules (one lookup and
   * join per request, not per rule). Headers do not change while a request is routed.
   */
  private lastHeader: string | undefined;
  private lastValue: string | undefined;

  constructor(readonly ctx: RequestContext) {
    const path = ctx.path;
    const q = path.indexOf('?');
    this.pathOnly = q < 0 ? path : path.slice(0, q);
    this.rawQuery = q < 0 ? '' : path.slice(q + 1);
  }

  get lowerCasePath(): string {
    return (this.lowerPath ??= this.pathOnly.toLowerCase());
  }

  /** A request header as Envoy's route matcher reads it: repeated values joined with `,`. */
  header(name: string): string | undefined {
    if (name !== this.lastHeader) {
      // `host` is `:authority` in Envoy's header map (see filters/authz/request-attributes.ts).
      this.lastValue = name === 'host' ? this.ctx.authority : this.ctx.headers.joined(name);
      this.lastHeader = name;
    }
    return this.lastValue;
  }

  /** First value of a query parameter (Envoy matches the first of repeated keys), decoded. */
  queryParam(name: string): string | undefined {
    if (!this.query) this.query = parseQuery(this.rawQuery);
    return this.query.get(name);
  }
}

function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, decode(eq < 0 ? '' : part.slice(eq + 1)));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s;
  }
}

export type CompiledValue =
  | { readonly kind: 'exact' | 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly re: RE2JS }
  | { readonly kind: 'present' };

export function compileValue(m: ValueMatchIR): CompiledValue {
  switch (m.kind) {
    case 'exact':
    case 'prefix':
      return { kind: m.kind, value: m.ignoreCase ? m.value.toLowerCase() : m.value, ignoreCase: m.ignoreCase };
    case 'regex':
      return { kind: 'regex', re: compileRegex(m.regex) };
    case 'present':
      return m;
  }
}

export function valueMatches(m: CompiledValue, v: string | undefined): boolean {
  if (v === undefined) return false;
  switch (m.kind) {
    case 'exact':
      return (m.ignoreCase ? v.toLowerCase() : v) === m.value;
    case 'prefix':
      return (m.ignoreCase ? v.toLowerCase() : v).startsWith(m.value);
    case 'regex':
      return m.re.matches(v);
    case 'present':
      return true;
  }
}

type CompiledPath =
  | { readonly kind: 'exact' | 'rawPrefix'; readonly value: string; readonly ignoreCase: boolean }
  /** Segment prefix: `value` has no trailing `/` (`''` for `/`, which matches every path). */
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly re: RE2JS };

function compilePath(p: PathMatchIR): CompiledPath {
  switch (p.kind) {
    case 'exact':
    case 'rawPrefix':
      return { kind: p.kind, value: p.ignoreCase ? p.value.toLowerCase() : p.value, ignoreCase: p.ignoreCase };
    case 'prefix': {
      const v = p.ignoreCase ? p.value.toLowerCase() : p.value;
      return { kind: 'prefix', value: stripTrailingSlashes(v), ignoreCase: p.ignoreCase };
    }
    case 'regex':
      return { kind: 'regex', re: compileRegex(p.regex) };
  }
}

export function stripTrailingSlashes(v: string): string {
  let end = v.length;
  while (end > 0 && v.charCodeAt(end - 1) === 0x2f) end--;
  return v.slice(0, end);
}

function pathMatches(p: CompiledPath, req: RequestView): boolean {
  switch (p.kind) {
    case 'exact':
      return (p.ignoreCase ? req.lowerCasePath : req.pathOnly) === p.value;
    case 'rawPrefix':
      return (p.ignoreCase ? req.lowerCasePath : req.pathOnly).startsWith(p.value);
    case 'prefix': {
      const path = p.ignoreCase ? req.lowerCasePath : req.pathOnly;
      if (!path.startsWith(p.value)) return false;
      // Segment boundary: `/foo` matches `/foo` and `/foo/...`, never `/foobar`.
      return path.length === p.value.length || path.charCodeAt(p.value.length) === 0x2f;
    }
    case 'regex':
      return p.re.matches(req.pathOnly);
  }
}

interface CompiledHeader {
  readonly name: string;
  readonly match: CompiledValue;
  readonly invert: boolean;
}

interface CompiledQuery {
  readonly name: string;
  readonly match: CompiledValue;
}

export class CompiledMatch {
  private readonly path: CompiledPath | undefined;
  private readonly method: string | undefined;
  private readonly headers: readonly CompiledHeader[];
  private readonly query: readonly CompiledQuery[];
  private readonly authority: CompiledValue | undefined;
  private readonly port: number | undefined;

  constructor(readonly ir: RouteMatchIR) {
    this.path = ir.path ? compilePath(ir.path) : undefined;
    this.method = ir.method;
    this.headers = ir.headers.map((h: HeaderMatchIR) => ({ name: h.name, match: compileValue(h.match), invert: h.invert }));
    this.query = ir.queryParams.map((q: QueryMatchIR) => ({ name: q.name, match: compileValue(q.match) }));
    this.authority = ir.authority ? compileValue(ir.authority) : undefined;
    this.port = ir.port;
  }

  /**
   * What decides this match entirely when a map lookup can (route-index.ts): one exact,
   * case-sensitive, non-inverted header (under no path or the root prefix), or a case-sensitive
   * segment prefix or exact path alone. Undefined for anything else, which is then tried by {@link matches}.
   */
  indexKey(): IndexKey | undefined {
    if (this.port !== undefined || this.method !== undefined || this.authority || this.query.length > 0) return undefined;
    const p = this.path;
    if (this.headers.length === 0) return (p?.kind === 'prefix' || p?.kind === 'exact') && !p.ignoreCase ? { kind: p.kind, value: p.value } : undefined;
    const h = this.headers[0];
    if (this.headers.length !== 1 || !h || h.invert || h.match.kind !== 'exact' || h.match.ignoreCase) return undefined;
    if (p === undefined) return { kind: 'header', name: h.name, value: h.match.value, rootPath: false };
    if (p.kind === 'prefix' && !p.ignoreCase && p.value === '') return { kind: 'header', name: h.name, value: h.match.value, rootPath: true };
    return undefined;
  }

  matches(req: RequestView): boolean {
    const ctx = req.ctx;
    if (this.port !== undefined && ctx.destination.port !== this.port) return false;
    if (this.method !== undefined && ctx.method !== this.method) return false;
    if (this.path && !pathMatches(this.path, req)) return false;
    if (this.authority && !valueMatches(this.authority, ctx.authority)) return false;
    for (const h of this.headers) {
      if (valueMatches(h.match, req.header(h.name)) === h.invert) return false;
    }
    for (const q of this.query) {
      if (!valueMatches(q.match, req.queryParam(q.name))) return false;
    }
    return true;
  }
}
