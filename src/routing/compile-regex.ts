/**
 * The one place route and match regexes are compiled: re2js (a port of RE2), so matching is
 * linear in the input like Envoy's `safe_regex` and a pathological pattern cannot stall the
 * proxy. Translators call {@link checkRegex} at config time; route tables call
 * {@link compileRegex} once per snapshot.
 */
import { RE2JS } from 're2js';
import type { RegexIR } from '../config/ir-routes.js';

/** `undefined` when the pattern is valid RE2, else the compiler's message. */
export function checkRegex(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Compiles a validated regex. Full-match semantics are the caller's (`matches`). */
export function compileRegex(r: RegexIR): RE2JS {
  return RE2JS.compile(r.source, r.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
}
