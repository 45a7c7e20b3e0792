/**
 * The one place route and match regexes are compiled: re2js (a port of RE2), so matching is
 * linear in the input like Envoy's `safe_regex` and a pathological pattern cannot stall the
 * proxy. Translators call {@link checkRegex} at config time; route tables call
 * {@link compileRegex} once per snapshot.
 */
const { createRequire } = process.getBuiltinModule('node:module');
import type { RE2JS } from 're2js';
import type { RegexIR } from '../config/ir-routes.js';

// re2js (~260 KB of source and its Unicode tables, +2 MiB per process) is loaded on the first
// regex, not at start: a ztunnel, and a waypoint whose routes have no regex, never need it. Its
// CommonJS build is required synchronously so config-time checks stay synchronous; only this file
// creates RE2JS instances, so the types of the ES build describe them exactly.
let engine: typeof RE2JS | undefined;
function re2(): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;
  return engine;
}

/** `undefined` when the pattern is valid RE2, else the compiler's message. */
export function checkRegex(source: string): string | undefined {
  try {
    re2().compile(source);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Compiles a validated regex. Full-match semantics are the caller's (`matches`). */
export function compileRegex(r: RegexIR): RE2JS {
  const RE2 = re2();
  return RE2.compile(r.source, r.ignoreCase ? RE2.CASE_INSENSITIVE : 0);
}
