#!/usr/bin/env node
/**
 * Regex engine for routes, chosen by measurement: re2js (RE2 semantics, linear time, what
 * src/routing/compile-regex.ts uses) against the JS RegExp (V8 irregexp, backtracking) on
 * typical route patterns and on a pathological one. Not part of `npm test`:
 *
 *   node scripts/bench-regex.mjs
 *
 * Full-match semantics as Envoy's safe_regex: re2js `matches()`, RegExp anchored `^(?:…)$`.
 * Results go in docs/routing.md ("Regex engine").
 */
import { RE2JS } from 're2js';

const TYPICAL = [
  ['path /api/v[0-9]+/users/[^/]+', '/api/v[0-9]+/users/[^/]+', '/api/v2/users/12345'],
  ['path miss', '/api/v[0-9]+/users/[^/]+', '/static/img/logo.png'],
  ['header user-agent', '.*(Chrome|Firefox)/[0-9.]+.*', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'],
  ['grpc method', '/reviews\\.v1\\.Reviews/(Get|List)[A-Za-z]*', '/reviews.v1.Reviews/ListReviews'],
  ['origin', 'https://[a-z0-9-]+\\.corp\\.example(:[0-9]+)?', 'https://team-a.corp.example:8443'],
];

function opsPerSec(fn, minMs = 300) {
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (n / elapsed) * 1000;
}

function once(fn) {
  const start = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, r };
}

const fmt = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(0)} k/s`);

console.log(`node ${process.version}\n`);
console.log('typical route patterns (full match, ops per second):');
console.log('| case | re2js | RegExp | RegExp/re2js |');
console.log('|---|---|---|---|');
for (const [label, pattern, input] of TYPICAL) {
  const re2 = RE2JS.compile(pattern);
  const js = new RegExp(`^(?:${pattern})$`);
  if (re2.matches(input) !== js.test(input)) throw new Error(`engines disagree on ${label}`);
  const a = opsPerSec(() => re2.matches(input));
  const b = opsPerSec(() => js.test(input));
  console.log(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${(b / a).toFixed(1)}× |`);
}

console.log('\npathological: ^(a+)+$ on "a"×n + "!" (one match, milliseconds):');
console.log('| n | re2js | RegExp |');
console.log('|---|---|---|');
const re2 = RE2JS.compile('(a+)+');
const js = /^(a+)+$/;
// RegExp doubles per extra "a": stop it before it takes more than a few seconds.
let jsGaveUp = false;
for (const n of [16, 20, 22, 24, 26, 1000, 100000]) {
  const input = `${'a'.repeat(n)}!`;
  const a = once(() => re2.matches(input));
  let jsCell = 'not run (exponential)';
  if (!jsGaveUp && n <= 26) {
    const b = once(() => js.test(input));
    jsCell = `${b.ms.toFixed(1)}`;
    if (b.ms > 2000) jsGaveUp = true;
  }
  console.log(`| ${n} | ${a.ms.toFixed(2)} | ${jsCell} |`);
}
