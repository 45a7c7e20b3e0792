/**
 * Envoy's `StringMatcher`, `HeaderMatcher` and `QueryParameterMatcher` → IR value matchers. The IR
 * has exact, prefix, regex and present; Envoy's `suffix` and `contains` become anchored RE2
 * regexes (full match, as Envoy's `safe_regex`), checked at config time.
 */
import { checkRegex } from '../../routing/compile-regex.js';
import type { HeaderMatchIR, QueryMatchIR, RegexIR, ValueMatchIR } from '../ir-routes.js';
import type { XdsReader } from './xds-reader.js';

/** RE2 syntax for a literal string. */
function quoteRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

export function readRegex(r: XdsReader, ignoreCase: boolean): RegexIR {
  const source = r.requiredStr('regex');
  const err = checkRegex(source);
  if (err !== undefined) r.fail(`invalid RE2 regex: ${err}`, ['regex']);
  return { source, ignoreCase };
}

/** `envoy.type.matcher.v3.StringMatcher`. */
export function readStringMatcher(r: XdsReader): ValueMatchIR {
  const ignoreCase = r.bool('ignore_case') ?? false;
  r.onlyKnown(['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'], 'StringMatcher');
  const exact = r.str('exact');
  if (exact !== undefined) return { kind: 'exact', value: exact, ignoreCase };
  const prefix = r.str('prefix');
  if (prefix !== undefined) return { kind: 'prefix', value: prefix, ignoreCase };
  const suffix = r.str('suffix');
  if (suffix !== undefined) return { kind: 'regex', regex: { source: `.*${quoteRe(suffix)}`, ignoreCase } };
  const contains = r.str('contains');
  if (contains !== undefined) return { kind: 'regex', regex: { source: `.*${quoteRe(contains)}.*`, ignoreCase } };
  const re = r.optional('safe_regex');
  if (re) return { kind: 'regex', regex: readRegex(re, ignoreCase) };
  return r.fail('StringMatcher needs one of exact, prefix, suffix, contains, safe_regex');
}

/** `envoy.config.route.v3.HeaderMatcher`. */
export function readHeaderMatcher(r: XdsReader): HeaderMatchIR {
  const name = r.requiredStr('name').toLowerCase();
  const invert = r.bool('invert_match') ?? false;
  r.onlyKnown(['name', 'invert_match', 'string_match', 'present_match', 'exact_match', 'prefix_match', 'safe_regex_match', 'treat_missing_header_as_empty'], 'HeaderMatcher');
  const sm = r.optional('string_match');
  if (sm) return { name, match: readStringMatcher(sm), invert };
  const exact = r.str('exact_match');
  if (exact !== undefined) return { name, match: { kind: 'exact', value: exact, ignoreCase: false }, invert };
  const prefix = r.str('prefix_match');
  if (prefix !== undefined) return { name, match: { kind: 'prefix', value: prefix, ignoreCase: false }, invert };
  const re = r.optional('safe_regex_match');
  if (re) return { name, match: { kind: 'regex', regex: readRegex(re, false) }, invert };
  const present = r.bool('present_match');
  // `present_match: false` means "absent": the same as inverting presence.
  if (present !== undefined) return { name, match: { kind: 'present' }, invert: present ? invert : !invert };
  // No matcher at all: Envoy treats it as a presence check.
  return { name, match: { kind: 'present' }, invert };
}

/** `envoy.config.route.v3.QueryParameterMatcher`. */
export function readQueryMatcher(r: XdsReader): QueryMatchIR {
  const name = r.requiredStr('name');
  r.onlyKnown(['name', 'string_match', 'present_match'], 'QueryParameterMatcher');
  const sm = r.optional('string_match');
  if (sm) return { name, match: readStringMatcher(sm) };
  if (r.bool('present_match') === false) r.fail('present_match: false is not supported', ['present_match']);
  return { name, match: { kind: 'present' } };
}

/** `envoy.type.v3.FractionalPercent` (or a bare `Percent {value}`) as a percentage in [0, 100]. */
export function readFractionalPercent(r: XdsReader): number {
  if (!r.has('numerator') && r.has('value')) return clampPercent(r.num('value') ?? 0);
  const numerator = r.num('numerator') ?? 0;
  const denominator = r.str('denominator') ?? 'HUNDRED';
  const scale = denominator === 'HUNDRED' ? 1 : denominator === 'TEN_THOUSAND' ? 100 : denominator === 'MILLION' ? 10_000 : r.fail(`unknown denominator ${denominator}`, ['denominator']);
  return clampPercent(numerator / scale);
}

function clampPercent(p: number): number {
  return Math.max(0, Math.min(100, p));
}
