/**
 * Telemetry `tagOverrides[].value` expressions → {@link TagValueIR}, at config time.
 *
 * Istio evaluates these as CEL over Envoy's attributes. The waypoint evaluates the subset that
 * real overrides use: a string literal, an attribute from {@link TAG_ATTRIBUTES} (with a header
 * name in brackets for `request.headers`), and `has(<attribute>) ? <expr> : <expr>`. Anything
 * else is refused with a message that says what is accepted, so the translator can warn and skip
 * that one tag instead of emitting a label whose value would be wrong.
 */
import type { TagValueIR } from './ir-telemetry.js';

/** Attributes a tag value may read (Envoy attribute names), and whether they take `['key']`. */
export const TAG_ATTRIBUTES: ReadonlyMap<string, 'plain' | 'keyed'> = new Map([
  ['request.host', 'plain'],
  ['request.method', 'plain'],
  ['request.path', 'plain'],
  ['request.url_path', 'plain'],
  ['request.protocol', 'plain'],
  ['request.id', 'plain'],
  ['request.useragent', 'plain'],
  ['request.headers', 'keyed'],
  ['response.code', 'plain'],
  ['response.code_details', 'plain'],
  ['source.address', 'plain'],
  ['source.principal', 'plain'],
  ['destination.address', 'plain'],
  ['upstream.address', 'plain'],
  ['xds.route_name', 'plain'],
  ['xds.cluster_name', 'plain'],
]);

export type TagExpressionResult = { readonly ok: true; readonly value: TagValueIR } | { readonly ok: false; readonly reason: string };

const SUPPORTED = `a string literal, has(<attribute>) ? <expr> : <expr>, or one of ${[...TAG_ATTRIBUTES.keys()].join(', ')}`;

/** Parses one expression; never throws. */
export function parseTagExpression(text: string): TagExpressionResult {
  const p = new Parser(text);
  try {
    const value = p.expression();
    p.skipSpace();
    if (!p.atEnd()) return { ok: false, reason: `unexpected text at offset ${p.pos}; supported: ${SUPPORTED}` };
    return { ok: true, value };
  } catch (e) {
    return { ok: false, reason: `${(e as Error).message}; supported: ${SUPPORTED}` };
  }
}

class Parser {
  pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (!this.atEnd() && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  private eat(token: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }

  private expect(token: string): void {
    if (!this.eat(token)) throw new Error(`expected '${token}' at offset ${this.pos}`);
  }

  expression(): TagValueIR {
    this.skipSpace();
    if (this.text.startsWith('has(', this.pos)) {
      this.pos += 4;
      const test = this.attribute();
      this.expect(')');
      this.expect('?');
      const then = this.expression();
      this.expect(':');
      return { kind: 'conditional', test, then, else: this.expression() };
    }
    const quote = this.text[this.pos];
    if (quote === "'" || quote === '"') return { kind: 'literal', value: this.stringLiteral() };
    return this.attribute();
  }

  private stringLiteral(): string {
    const quote = this.text[this.pos] as string;
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) throw new Error(`unterminated string at offset ${this.pos}`);
    const value = this.text.slice(this.pos + 1, end);
    if (value.includes('\\')) throw new Error('escapes in string literals are not supported');
    this.pos = end + 1;
    return value;
  }

  private attribute(): TagValueIR & { readonly kind: 'attribute' } {
    this.skipSpace();
    const m = /^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*/.exec(this.text.slice(this.pos));
    if (!m) throw new Error(`expected an attribute at offset ${this.pos}`);
    const path = m[0];
    this.pos += path.length;
    const shape = TAG_ATTRIBUTES.get(path);
    if (!shape) throw new Error(`attribute '${path}' is not available`);
    if (shape === 'plain') return { kind: 'attribute', path };
    this.expect('[');
    this.skipSpace();
    const q = this.text[this.pos];
    if (q !== "'" && q !== '"') throw new Error(`expected a quoted name after '${path}['`);
    const key = this.stringLiteral().toLowerCase();
    this.expect(']');
    return { kind: 'attribute', path, key };
  }
}
