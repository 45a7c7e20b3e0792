/**
 * Reads one decoded xDS resource (a plain object: protobuf decoded with snake_case field names, or
 * the same resource written as YAML/JSON in an Envoy bootstrap file) with its field path, so every
 * rejection names the resource and the field, as an xDS NACK's `error_detail` should.
 *
 * Both encodings are accepted where they differ: a Duration is `"1.5s"` (JSON) or
 * `{seconds, nanos}` (decoded), a wrapper (`UInt32Value`, `BoolValue`) is a bare value or
 * `{value}`, an enum is its name, and an `Any` is `{"@type": url, ...fields}`.
 */

export type XdsPath = readonly (string | number)[];

export interface XdsProblem {
  readonly path: string;
  readonly message: string;
}

/** Thrown to abandon a resource at its first problem; caught by the translator's caller. */
export class XdsRejection extends Error {
  constructor(readonly problem: XdsProblem) {
    super(`${problem.path}: ${problem.message}`);
  }
}

export function formatXdsPath(path: XdsPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class XdsReader {
  constructor(
    readonly value: unknown,
    readonly path: XdsPath = [],
  ) {}

  fail(message: string, sub: XdsPath = []): never {
    throw new XdsRejection({ path: formatXdsPath([...this.path, ...sub]) || '(resource)', message });
  }

  private obj(): Obj {
    if (!isObj(this.value)) this.fail('must be an object');
    return this.value;
  }

  has(key: string): boolean {
    const v = isObj(this.value) ? this.value[key] : undefined;
    return v !== undefined && v !== null;
  }

  keys(): string[] {
    return Object.keys(this.obj());
  }

  field(key: string): XdsReader {
    return new XdsReader(this.obj()[key], [...this.path, key]);
  }

  optional(key: string): XdsReader | undefined {
    return this.has(key) ? this.field(key) : undefined;
  }

  list(key: string): XdsReader[] {
    const v = this.obj()[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail('must be a list', [key]);
    return v.map((item, i) => new XdsReader(item, [...this.path, key, i]));
  }

  /** A `map<string, V>` field as entries. */
  entries(key: string): [string, XdsReader][] {
    const v = this.obj()[key];
    if (v === undefined || v === null) return [];
    if (!isObj(v)) this.fail('must be a map', [key]);
    return Object.keys(v).map((k) => [k, new XdsReader(v[k], [...this.path, key, k])]);
  }

  str(key: string): string | undefined {
    const v = this.obj()[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail('must be a string', [key]);
    return v;
  }

  requiredStr(key: string): string {
    const v = this.str(key);
    if (v === undefined || v === '') this.fail('is required', [key]);
    return v;
  }

  /** Numbers may arrive as strings (64-bit fields, JSON) or wrapped (`{value}`). */
  num(key: string): number | undefined {
    let v = this.obj()[key];
    if (isObj(v)) v = v['value'];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) this.fail('must be a number', [key]);
    return n;
  }

  port(key: string): number {
    const n = this.num(key);
    return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : this.fail('must be a port in [1, 65535]', [key]);
  }

  bool(key: string): boolean | undefined {
    let v = this.obj()[key];
    if (isObj(v)) v = v['value'];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail('must be a boolean', [key]);
    return v;
  }

  /** A `google.protobuf.Duration` in milliseconds. */
  durationMs(key: string): number | undefined {
    const v = this.obj()[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(v.trim());
      if (!m) this.fail(`"${v}" is not a duration (e.g. "1.5s")`, [key]);
      return Math.round(Number(m[1]) * 1000);
    }
    if (isObj(v)) {
      const d = this.field(key);
      return Math.round((d.num('seconds') ?? 0) * 1000 + (d.num('nanos') ?? 0) / 1e6);
    }
    return this.fail('must be a duration', [key]);
  }

  /** An `Any`'s type URL (`@type`). */
  typeUrl(): string {
    const t = this.obj()['@type'];
    if (typeof t !== 'string' || t === '') this.fail('typed config has no @type');
    return t;
  }

  /** Fails when a field outside `known` is set: an unsupported feature is said, never ignored. */
  onlyKnown(known: readonly string[], what: string): void {
    for (const k of Object.keys(this.obj())) {
      if (k === '@type' || known.includes(k)) continue;
      const v = this.obj()[k];
      if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue;
      this.fail(`${what} field "${k}" is not supported`, [k]);
    }
  }
}

/** The message name of a type URL: `type.googleapis.com/envoy.config.route.v3.Route` → `envoy.config.route.v3.Route`. */
export function typeNameOf(typeUrl: string): string {
  const i = typeUrl.lastIndexOf('/');
  return i >= 0 ? typeUrl.slice(i + 1) : typeUrl;
}
