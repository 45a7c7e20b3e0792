/**
 * AuthorizationPolicy path templates (Istio 1.22+, `paths: ["/api/{*}/items/{**}"]`), which
 * istiod hands to Envoy as a URI template (`envoy.path.match.uri_template`). Envoy turns the
 * operators into a regex: `{*}` → one or more characters of a path segment (no `/`), `{**}` →
 * zero or more characters including `/`; `{**}` must be the last operator. So `/a/{**}` matches
 * `/a/` and `/a/b/c` but not `/a`, and `/a/{*}` matches `/a/b` but not `/a/` or `/a/b/c`.
 *
 * Validation runs at translation ({@link pathTemplateProblem}); matchers compile once per policy
 * ({@link compilePathTemplate}), and the request path (normalized, no query) is tested per request.
 */

const OPERATOR = /\{[^}]*\}/g;

/** True when a path value is a template (contains `{*}` or `{**}`). */
export function isPathTemplate(value: string): boolean {
  return value.includes('{*}') || value.includes('{**}');
}

/** Why a template is not valid, or `undefined` when it is. */
export function pathTemplateProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'a path template starts with "/"';
  const ops = operators(value);
  const bad = ops.find((op) => op !== '{*}' && op !== '{**}');
  if (bad) return `${bad} is not a supported operator (only {*} and {**})`;
  const literal = value.replace(OPERATOR, '');
  if (literal.includes('*')) return 'a path template cannot also use * outside {*} and {**}';
  if (literal.includes('{') || literal.includes('}')) return 'unbalanced { or } in the path template';
  const textGlob = ops.indexOf('{**}');
  if (textGlob >= 0 && textGlob !== ops.length - 1) return '{**} must be the last operator of the path template';
  for (const segment of value.split('/')) {
    if (operators(segment).length > 1) return 'a path segment holds at most one operator';
  }
  return undefined;
}

/** The matcher of a valid template (anchored: the whole path must match). */
export function compilePathTemplate(value: string): RegExp {
  let re = '^';
  let last = 0;
  for (const m of value.matchAll(OPERATOR)) {
    re += escapeRegex(value.slice(last, m.index)) + (m[0] === '{**}' ? '.*' : '[^/]+');
    last = m.index + m[0].length;
  }
  return new RegExp(`${re}${escapeRegex(value.slice(last))}$`);
}

function operators(s: string): string[] {
  return [...s.matchAll(OPERATOR)].map((m) => m[0]);
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
