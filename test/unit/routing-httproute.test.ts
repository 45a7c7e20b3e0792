/**
 * HTTPRoute: YAML in → IR → compiled table → decision. Match types and their edge cases,
 * precedence across rules and routes, weights, the spec's 500s, redirect and rewrite corner cases,
 * and diagnostics for bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/config/from-k8s/duration.js';
import { replacePrefixMatch } from '../../src/routing/path-rewrite.js';
import type { Endpoint } from '../../src/state/mesh-view.js';
import type { UpstreamDispatcher } from '../../src/upstream/http-client.js';
import { LeastRequestBalancer } from '../../src/upstream/lb.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { requestContext, route, routesFrom, targetOf } from '../helpers/route-table-harness.js';

const httpRoute = (name: string, rules: string, opts: { created?: string; parent?: string } = {}): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: default
  ${opts.created ? `creationTimestamp: "${opts.created}"` : ''}
spec:
  parentRefs: [${opts.parent ?? '{group: "", kind: Service, name: reviews}'}]
  rules:
${rules}
---`;

const to = (svc: string, extra = ''): string => `      backendRefs: [{name: ${svc}, port: 9080${extra}}]`;

describe('HTTPRoute matching', () => {
  const { table, diagnostics } = routesFrom(
    httpRoute(
      'r',
      `
    - matches: [{path: {type: Exact, value: /exact}}]
${to('reviews-v1')}
    - matches: [{path: {type: PathPrefix, value: /pre/}}]
${to('reviews-v2')}
    - matches: [{path: {type: RegularExpression, value: "/re/(a|b)+"}}]
${to('reviews-v1')}
    - matches: [{path: {type: PathPrefix, value: /h}, headers: [{name: X-Env, value: canary}, {name: x-env, value: ignored-dup}]}]
${to('reviews-v2')}
    - matches: [{path: {type: PathPrefix, value: /h}, headers: [{type: RegularExpression, name: x-user, value: "admin-[0-9]+"}]}]
${to('reviews-v1')}
    - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: v, value: "two words"}]}]
${to('reviews-v2')}
    - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{type: RegularExpression, name: id, value: "[0-9]{3}"}]}]
${to('reviews-v1')}`,
    ),
  );

  it('translates without diagnostics', () => {
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it('Exact matches the whole path only (query ignored)', () => {
    const t = table();
    assert.equal(targetOf(t, '/exact'), 'reviews-v1');
    assert.equal(targetOf(t, '/exact?x=1'), 'reviews-v1');
    assert.equal(targetOf(t, '/exact/'), 'none');
    assert.equal(targetOf(t, '/exactly'), 'none');
  });

  it('PathPrefix matches on segment boundaries; a trailing slash in the value is ignored', () => {
    const t = table();
    for (const p of ['/pre', '/pre/', '/pre/x/y', '/pre?x']) assert.equal(targetOf(t, p), 'reviews-v2', p);
    for (const p of ['/prefix', '/pr', '/PRE']) assert.equal(targetOf(t, p), 'none', p);
  });

  it('RegularExpression is a full match, RE2', () => {
    const t = table();
    assert.equal(targetOf(t, '/re/abba'), 'reviews-v1');
    assert.equal(targetOf(t, '/re/abc'), 'none');
    assert.equal(targetOf(t, '/x/re/a'), 'none');
  });

  it('header names are case-insensitive, values exact; the first duplicate name counts', () => {
    const t = table();
    assert.equal(targetOf(t, { path: '/h', headers: { 'X-ENV': 'canary' } }), 'reviews-v2');
    assert.equal(targetOf(t, { path: '/h', headers: { 'x-env': 'Canary' } }), 'none');
    assert.equal(targetOf(t, { path: '/h', headers: { 'x-env': 'ignored-dup' } }), 'none');
    assert.equal(targetOf(t, { path: '/h', headers: { 'x-user': 'admin-42' } }), 'reviews-v1');
    assert.equal(targetOf(t, { path: '/h', headers: { 'x-user': 'admin-42x' } }), 'none');
  });

  it('query params: decoded values, first of repeated keys, regex', () => {
    const t = table();
    assert.equal(targetOf(t, '/q?v=two%20words'), 'reviews-v2');
    assert.equal(targetOf(t, '/q?v=two+words'), 'reviews-v2');
    assert.equal(targetOf(t, '/q?v=other&v=two%20words'), 'none');
    assert.equal(targetOf(t, '/q?id=123'), 'reviews-v1');
    assert.equal(targetOf(t, '/q?id=1234'), 'none');
    assert.equal(targetOf(t, '/q'), 'none');
  });

  it('a Service with routes on one port keeps the default route on ports no route names', () => {
    const r = routesFrom(httpRoute('p', `    - matches: [{path: {value: /x}}]\n${to('reviews-v1')}`, { parent: '{group: "", kind: Service, name: reviews, port: 9080}' }));
    assert.equal(route(r.table('reviews', 9090), '/anything')?.name, 'default');
    assert.equal(targetOf(r.table('reviews', 9080), '/y'), 'none');
  });
});

describe('HTTPRoute precedence', () => {
  it('exact > longest prefix > method > more headers > more query params, whatever the rule order', () => {
    const { table } = routesFrom(
      httpRoute(
        'r',
        `
    - matches: [{path: {type: PathPrefix, value: /}}]
${to('reviews', '')}
    - matches: [{path: {type: PathPrefix, value: /a}, queryParams: [{name: q, value: "1"}]}]
${to('reviews-v1')}
    - matches: [{path: {type: PathPrefix, value: /a}, headers: [{name: h, value: "1"}]}]
${to('reviews-v2')}
    - matches: [{path: {type: PathPrefix, value: /a}, method: GET}]
${to('reviews-v1')}
    - matches: [{path: {type: PathPrefix, value: /a/b}}]
${to('reviews-v2')}
    - matches: [{path: {type: Exact, value: /a/b/c}}]
${to('reviews-v1')}`,
      ),
    );
    const t = table();
    assert.equal(targetOf(t, '/a/b/c'), 'reviews-v1', 'exact');
    assert.equal(targetOf(t, '/a/b/d'), 'reviews-v2', 'longest prefix');
    assert.equal(targetOf(t, { path: '/a?q=1', headers: { h: '1' } }), 'reviews-v1', 'method beats headers');
    assert.equal(targetOf(t, { path: '/a?q=1', headers: { h: '1' }, method: 'POST' }), 'reviews-v2', 'headers beat query');
    assert.equal(targetOf(t, { path: '/a?q=1', method: 'POST' }), 'reviews-v1', 'query match');
    assert.equal(targetOf(t, { path: '/z' }), 'reviews');
  });

  it('ties across routes: oldest creationTimestamp, then namespace/name', () => {
    const rule = (svc: string): string => `    - matches: [{path: {value: /same}}]\n${to(svc)}`;
    const a = routesFrom(httpRoute('b-new', rule('reviews-v1'), { created: '2024-02-01T00:00:00Z' }) + httpRoute('a-old', rule('reviews-v2'), { created: '2024-01-01T00:00:00Z' }));
    assert.equal(targetOf(a.table(), '/same'), 'reviews-v2');
    const b = routesFrom(httpRoute('zz', rule('reviews-v1'), { created: '2024-01-01T00:00:00Z' }) + httpRoute('aa', rule('reviews-v2'), { created: '2024-01-01T00:00:00Z' }));
    assert.equal(targetOf(b.table(), '/same'), 'reviews-v2');
    const c = routesFrom(httpRoute('zz', rule('reviews-v1'), { created: '2023-01-01T00:00:00Z' }) + httpRoute('aa', rule('reviews-v2'), { created: '2024-01-01T00:00:00Z' }));
    assert.equal(targetOf(c.table(), '/same'), 'reviews-v1');
  });

  it('routes attached to the Service win over routes attached to its waypoint Gateway', () => {
    const gw = httpRoute('gw', `    - backendRefs: [{name: reviews-v2, port: 9080}]`, { parent: '{name: waypoint}' });
    const only = routesFrom(gw);
    assert.equal(targetOf(only.table(), '/x'), 'reviews-v2');
    const both = routesFrom(gw + httpRoute('svc', `    - backendRefs: [{name: reviews-v1, port: 9080}]`));
    assert.equal(targetOf(both.table(), '/x'), 'reviews-v1');
  });
});

describe('HTTPRoute backends', () => {
  it('weights: relative, 0 excluded, all 0 or none → 500, unknown Service → 500 share', () => {
    const { table } = routesFrom(
      httpRoute(
        'r',
        `
    - matches: [{path: {value: /split}}]
      backendRefs: [{name: reviews-v1, port: 9080, weight: 90}, {name: reviews-v2, port: 9080, weight: 10}, {name: reviews, port: 9080, weight: 0}]
    - matches: [{path: {value: /zero}}]
      backendRefs: [{name: reviews-v1, port: 9080, weight: 0}]
    - matches: [{path: {value: /empty}}]
    - matches: [{path: {value: /ghost}}]
      backendRefs: [{name: ghost, port: 9080}]
    - matches: [{path: {value: /badport}}]
      backendRefs: [{name: reviews-v1, port: 1234}]`,
      ),
    );
    const t = table();
    const d = route(t, '/split');
    assert.ok(d);
    assert.deepEqual(d.backends.map((b) => [b.service.name, b.weight, b.endpoints.map((e) => e.workload.name)]), [
      ['reviews-v1', 90, ['reviews-v1']],
      ['reviews-v2', 10, ['reviews-v2']],
    ]);
    assert.equal(d.totalWeight, 100);
    assert.equal(d.backends[1]?.cluster, 'inbound-vip|9080|http|reviews-v2.default.svc.cluster.local');
    assert.equal(targetOf(t, '/zero'), 'status:500');
    assert.equal(targetOf(t, '/empty'), 'status:500');
    assert.equal(targetOf(t, '/ghost'), 'status:500');
    assert.equal(targetOf(t, '/badport'), 'status:500');
  });

  it('timeouts and retry parse into the decision', () => {
    const { table } = routesFrom(
      httpRoute('r', `    - timeouts: {request: 1m30s, backendRequest: 500ms}\n      retry: {attempts: 3, codes: [503], backoff: 100ms}\n${to('reviews-v1')}`),
    );
    const d = route(table(), '/');
    assert.equal(d?.timeoutMs, 90_000);
    assert.equal(d?.retry.numRetries, 3);
    assert.equal(d?.retry.perTryTimeoutMs, 500);
    assert.deepEqual(d?.retry.retriableStatusCodes, [503]);
  });
});

describe('redirects and rewrites', () => {
  it('ReplacePrefixMatch corner cases (the spec table)', () => {
    const cases: [string, string, string, string][] = [
      ['/foo', '/foo/bar', '/xyz', '/xyz/bar'],
      ['/foo', '/foo/bar', '/xyz/', '/xyz/bar'],
      ['/foo/', '/foo/bar', '/xyz', '/xyz/bar'],
      ['/foo/', '/foo/bar', '/xyz/', '/xyz/bar'],
      ['/foo', '/foo', '/xyz', '/xyz'],
      ['/foo/', '/foo', '/xyz', '/xyz'],
      ['/foo', '/foo/', '/xyz', '/xyz/'],
      ['/foo/', '/foo/', '/xyz', '/xyz/'],
      ['/foo', '/foo', '/', '/'],
      ['/foo', '/foo/', '/', '/'],
      ['/foo', '/foo/bar', '/', '/bar'],
      ['/', '/foo/bar', '/xyz', '/xyz/foo/bar'],
    ];
    for (const [prefix, path, repl, want] of cases) assert.equal(replacePrefixMatch(path, prefix, repl), want, `${prefix} ${path} ${repl}`);
  });

  it('redirect Location: scheme default port dropped, request port kept, explicit port used', () => {
    const redirect = (rr: string): string => `    - matches: [{path: {value: /r}}]\n      filters: [{type: RequestRedirect, requestRedirect: ${rr}}]`;
    const loc = (rr: string, path = '/r/x?y=1'): [number, string | undefined] => {
      const { table } = routesFrom(httpRoute('r', redirect(rr)));
      const d = route(table(), path);
      const reply = d?.respond?.reply(requestContext({ path }));
      return [reply?.status ?? 0, reply?.headers?.['location']];
    };
    assert.deepEqual(loc('{}'), [302, 'http://reviews:9080/r/x?y=1']);
    assert.deepEqual(loc('{scheme: https}'), [302, 'https://reviews/r/x?y=1']);
    assert.deepEqual(loc('{hostname: a.example, statusCode: 301}'), [301, 'http://a.example:9080/r/x?y=1']);
    assert.deepEqual(loc('{port: 8443, scheme: https}'), [302, 'https://reviews:8443/r/x?y=1']);
    assert.deepEqual(loc('{port: 80}'), [302, 'http://reviews/r/x?y=1']);
    assert.deepEqual(loc('{path: {type: ReplaceFullPath, replaceFullPath: /full}}'), [302, 'http://reviews:9080/full?y=1']);
    assert.deepEqual(loc('{path: {type: ReplacePrefixMatch, replacePrefixMatch: /n}}'), [302, 'http://reviews:9080/n/x?y=1']);
  });

  it('URLRewrite sets x-envoy-original-path only when the path changes', () => {
    const { table } = routesFrom(
      httpRoute('r', `    - matches: [{path: {value: /a}}]\n      filters: [{type: URLRewrite, urlRewrite: {hostname: h.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]\n${to('reviews-v1')}`),
    );
    const ctx = requestContext({ path: '/a/b?c=d' });
    const d = table().routeHttp(ctx);
    d?.rewrite?.apply(ctx);
    assert.equal(ctx.path, '/b?c=d');
    assert.equal(ctx.authority, 'h.example');
    assert.equal(ctx.headers.get('x-envoy-original-path'), '/a/b?c=d');
  });
});

describe('HTTPRoute diagnostics', () => {
  const errorsOf = (rules: string): { code: string; field?: string; line?: number; file: string; kind?: string; name?: string; namespace?: string }[] =>
    routesFrom(httpRoute('bad', rules), 'bad.yaml').diagnostics.filter((d) => d.severity === 'error');

  it('an invalid regex names file, line, kind, namespace/name and field; the route is rejected', () => {
    const r = routesFrom(httpRoute('bad', `    - matches: [{path: {type: RegularExpression, value: "/(unclosed"}}]\n${to('reviews-v1')}`), 'bad.yaml');
    const e = r.diagnostics.find((d) => d.severity === 'error');
    assert.ok(e);
    assert.equal(e.code, 'FIELD_INVALID');
    assert.equal(e.file, 'bad.yaml');
    assert.equal(e.kind, 'HTTPRoute');
    assert.equal(e.namespace, 'default');
    assert.equal(e.name, 'bad');
    assert.equal(e.field, 'spec.rules[0].matches[0].path.value');
    assert.equal(typeof e.line, 'number');
    assert.equal(route(r.table(), '/x')?.name, 'default', 'the rejected route is not served');
  });

  it('rejects unsupported filters, ReplacePrefixMatch without PathPrefix, redirect with rewrite, bad values', () => {
    assert.deepEqual(errorsOf(`    - filters: [{type: ExtensionRef}]`).map((e) => [e.code, e.field]), [['UNSUPPORTED', 'spec.rules[0].filters[0].type']]);
    assert.equal(
      errorsOf(`    - matches: [{path: {type: Exact, value: /x}}]\n      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}}}]`)[0]?.field,
      'spec.rules[0].filters',
    );
    assert.equal(
      errorsOf(`    - filters: [{type: URLRewrite, urlRewrite: {hostname: a}}, {type: RequestRedirect, requestRedirect: {hostname: b}}]`)[0]?.field,
      'spec.rules[0].filters',
    );
    assert.equal(errorsOf(`    - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 305}}]`)[0]?.field, 'spec.rules[0].filters[0].requestRedirect.statusCode');
    assert.equal(errorsOf(`    - matches: [{method: FETCH}]`)[0]?.field, 'spec.rules[0].matches[0].method');
    assert.equal(errorsOf(`    - timeouts: {request: soon}`)[0]?.field, 'spec.rules[0].timeouts.request');
    assert.equal(errorsOf(`    - matches: [{path: {type: PathPrefix, value: relative}}]`)[0]?.field, 'spec.rules[0].matches[0].path.value');
  });
});

describe('durations', () => {
  it('parses Gateway API and protobuf durations', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h2m3s'), 3_723_000);
    assert.equal(parseDuration('0.5s'), 500);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('10'), undefined);
    assert.equal(parseDuration('s'), undefined);
  });
});

describe('HTTPRoute mirrors and Gateway hostnames', () => {
  it('mirrors the given fraction of bodyless requests to the mirror Service, with a -shadow host', () => {
    const sent: { ep: string; host: string | undefined }[] = [];
    const upstream: UpstreamDispatcher = {
      dispatch(ep: Endpoint, _v, opts) {
        const h = opts.headers as string[];
        sent.push({ ep: ep.workload.name, host: h[h.indexOf('host') + 1] });
      },
      retain() {},
      close: () => Promise.resolve(),
    };
    const random = seededRandom(7);
    const { table } = routesFrom(
      httpRoute('m', `    - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: reviews-v2, port: 9080}, fraction: {numerator: 1, denominator: 4}}}]\n${to('reviews-v1')}`),
      'm.yaml',
      { lb: new LeastRequestBalancer(random), upstream, random },
    );
    const d = route(table(), '/x');
    assert.ok(d?.mirror);
    const ctx = requestContext({ path: '/x' });
    for (let i = 0; i < 2000; i++) assert.equal(d.mirror.send(ctx, 'h1', null), null);
    assert.ok(Math.abs(sent.length / 2000 - 0.25) < 0.04, `mirrored ${sent.length}`);
    assert.deepEqual(new Set(sent.map((s) => `${s.ep} ${s.host}`)), new Set(['reviews-v2 reviews-shadow:9080']));
  });

  it('Gateway-attached routes apply to the Services whose names their hostnames list', () => {
    const gw = (hosts: string): string => httpRoute('gw', `    - backendRefs: [{name: reviews-v2, port: 9080}]`, { parent: '{name: waypoint}' }).replace('rules:', `hostnames: ${hosts}\n  rules:`);
    assert.equal(targetOf(routesFrom(gw('[reviews.default.svc.cluster.local]')).table(), '/'), 'reviews-v2');
    assert.equal(targetOf(routesFrom(gw('["*.svc.cluster.local"]')).table(), '/'), 'reviews-v2');
    assert.equal(route(routesFrom(gw('[ratings]')).table(), '/')?.name, 'default');
  });
});
