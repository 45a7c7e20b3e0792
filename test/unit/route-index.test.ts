/**
 * The indexed first-match scan (src/routing/route-index.ts) answers exactly what trying every
 * entry in order answers: a differential test over random tables (runs of indexable header and
 * prefix matches mixed with matches the index must leave alone) and random requests (paths with
 * and without a leading `/`, repeated `/`, queries, repeated and absent headers), plus the
 * bench's table shape through the real route compiler.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeaderMatchIR, PathMatchIR, RouteMatchIR } from '../../src/config/ir-routes.js';
import { RouteScan } from '../../src/routing/route-index.js';
import { CompiledMatch, RequestView } from '../../src/routing/route-match.js';
import { requestContext, routesFrom, targetOf } from '../helpers/route-table-harness.js';
import { seededRandom as rng } from '../helpers/seeded-random.js';

const SEGMENTS = ['', 'a', 'b', 'A', 'ab'];
const VALUES = ['1', '2', 'x', 'X'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function randomPathValue(r: () => number): string {
  const n = Math.floor(r() * 3);
  let v = '';
  for (let i = 0; i < n; i++) v += `/${pick(r, SEGMENTS)}`;
  return r() < 0.2 ? `${v}/` : v;
}

function randomPath(r: () => number): PathMatchIR | undefined {
  const x = r();
  if (x < 0.15) return undefined;
  const ignoreCase = r() < 0.15;
  if (x < 0.75) return { kind: 'prefix', value: randomPathValue(r) || '/', ignoreCase };
  if (x < 0.85) return { kind: 'exact', value: randomPathValue(r) || '/', ignoreCase };
  if (x < 0.95) return { kind: 'rawPrefix', value: randomPathValue(r), ignoreCase };
  return { kind: 'regex', regex: { source: '/a.*', ignoreCase: false } };
}

function randomHeader(r: () => number): HeaderMatchIR {
  const x = r();
  const match = x < 0.75 ? { kind: 'exact' as const, value: pick(r, VALUES), ignoreCase: r() < 0.15 } : x < 0.9 ? { kind: 'prefix' as const, value: pick(r, VALUES), ignoreCase: false } : { kind: 'present' as const };
  return { name: r() < 0.8 ? 'x-a' : 'x-b', match, invert: r() < 0.1 };
}

function randomMatch(r: () => number): RouteMatchIR {
  // Mostly shapes the index takes (one header, or a prefix alone), some it must not.
  const shape = r();
  const path = shape < 0.4 ? { kind: 'prefix' as const, value: '/', ignoreCase: false } : randomPath(r);
  const headers = shape < 0.4 || r() < 0.3 ? [randomHeader(r)] : r() < 0.1 ? [randomHeader(r), randomHeader(r)] : [];
  return {
    ...(path ? { path } : {}),
    ...(r() < 0.05 ? { method: 'POST' } : {}),
    headers,
    queryParams: r() < 0.05 ? [{ name: 'q', match: { kind: 'exact', value: '1', ignoreCase: false } }] : [],
    ...(r() < 0.03 ? { port: 9090 } : {}),
  };
}

function randomRequestPath(r: () => number): string {
  const x = r();
  if (x < 0.05) return '*';
  if (x < 0.1) return 'a/b';
  let p = '';
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) p += `/${pick(r, SEGMENTS)}`;
  if (r() < 0.1) p += '/';
  return r() < 0.1 ? `${p}?q=1` : p;
}

function randomHeaders(r: () => number): [string, string][] {
  const out: [string, string][] = [];
  for (const name of ['x-a', 'x-b']) {
    const n = r() < 0.3 ? 0 : r() < 0.85 ? 1 : 2;
    for (let i = 0; i < n; i++) out.push([name, pick(r, VALUES)]);
  }
  return out;
}

interface TestEntry {
  readonly match: CompiledMatch;
  readonly id: number;
}

function view(path: string, headers: readonly [string, string][], method = 'GET'): RequestView {
  const ctx = requestContext({ path, method });
  for (const [k, v] of headers) ctx.headers.append(k, v);
  return new RequestView(ctx);
}

describe('route index: first match by lookup', () => {
  it('answers what an in-order scan answers, over random tables and requests', () => {
    const r = rng(0x5eed);
    let indexedRuns = 0;
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(r() * 40);
      // Runs: repeat one shape so the index has runs to build.
      const entries: TestEntry[] = [];
      while (entries.length < n) {
        const base = randomMatch(r);
        const len = 1 + Math.floor(r() * 8);
        for (let i = 0; i < len && entries.length < n; i++) {
          const m = r() < 0.8 ? withNewValue(base, r) : randomMatch(r);
          entries.push({ match: new CompiledMatch(m), id: entries.length });
        }
      }
      for (const minRun of [1, 4]) {
        const scan = new RouteScan<RequestView, TestEntry>(entries, minRun);
        indexedRuns += (scan as unknown as { steps: { kind: string }[] }).steps.filter((s) => s.kind !== 'one').length;
        for (let q = 0; q < 40; q++) {
          const path = randomRequestPath(r);
          const headers = randomHeaders(r);
          const method = r() < 0.1 ? 'POST' : 'GET';
          const linear = entries.find((e) => e.match.matches(view(path, headers, method)))?.id;
          const got = scan.first(view(path, headers, method))?.id;
          assert.equal(got, linear, `table ${t} minRun ${minRun}: ${method} ${path} ${JSON.stringify(headers)}`);
        }
      }
    }
    assert.ok(indexedRuns > 500, `the random tables exercise the index (${indexedRuns} runs)`);
  });

  it('routes the bench table (49 prefixes, 49 headers, then /) by its first matching rule', () => {
    const rules: string[] = [];
    for (let i = 0; i < 49; i++) rules.push(`    - matches: [{path: {type: PathPrefix, value: /r${i}}}, {headers: [{name: x-route, value: r${i}}]}]\n      backendRefs: [{name: reviews-v1, port: 9080}]`);
    rules.push(`    - matches: [{path: {type: PathPrefix, value: /r7/deep}}]\n      backendRefs: [{name: reviews-v2, port: 9080}]`);
    rules.push('    - matches: [{path: {type: PathPrefix, value: /}}]\n      backendRefs: [{name: reviews, port: 9080}]');
    const table = routesFrom(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: many, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
${rules.join('\n')}
`).table();
    assert.equal(targetOf(table, '/'), 'reviews');
    assert.equal(targetOf(table, '/r12'), 'reviews-v1');
    assert.equal(targetOf(table, '/r12/x'), 'reviews-v1');
    assert.equal(targetOf(table, '/r120'), 'reviews', 'segment prefix: /r12 does not match /r120');
    assert.equal(targetOf(table, '/r7/deep/x'), 'reviews-v2', 'the longest prefix wins');
    assert.equal(targetOf(table, '/r7/dee'), 'reviews-v1');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-route': 'r33' } }), 'reviews-v1');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-route': 'R33' } }), 'reviews', 'header values are case-sensitive');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-route': 'r3, r4' } }), 'reviews', 'a repeated header matches joined');
    assert.equal(targetOf(table, { path: '*', headers: { 'x-route': 'r3' } }), 'none', 'PathPrefix / does not match a path without /');
  });
});

/** The same shape as `m` with a new header value or path prefix: what a run of similar rules looks like. */
function withNewValue(m: RouteMatchIR, r: () => number): RouteMatchIR {
  const h = m.headers[0];
  if (h && h.match.kind === 'exact') return { ...m, headers: [{ ...h, match: { ...h.match, value: pick(r, VALUES) } }, ...m.headers.slice(1)] };
  if (m.path?.kind === 'prefix' || m.path?.kind === 'exact') return { ...m, path: { ...m.path, value: randomPathValue(r) || '/' } };
  return m;
}
