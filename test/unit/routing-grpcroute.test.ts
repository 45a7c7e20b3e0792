/**
 * GRPCRoute matching (service/method exact and regex, headers) and the same routing intent
 * written as HTTPRoute and as VirtualService giving the same decisions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestRequest } from '../helpers/route-table-harness.js';
import { route, routesFrom, targetOf } from '../helpers/route-table-harness.js';

const GRPC = `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
    - matches: [{method: {service: pkg.Reviews, method: Get}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{method: {service: pkg.Reviews}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{method: {method: Health}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{method: {type: RegularExpression, service: "pkg\\\\.Admin.*", method: "(List|Watch)"}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{headers: [{name: X-Canary, value: "yes"}]}]
      backendRefs: [{name: reviews-v2, port: 9080, weight: 30}, {name: reviews-v1, port: 9080, weight: 70}]
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-grpc, value: "1"}]}}]
---`;

describe('GRPCRoute', () => {
  it('matches service and method (exact, service only, method only, regex) and headers', () => {
    const { table, diagnostics } = routesFrom(GRPC);
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    const t = table();
    const post = (path: string, headers: Record<string, string> = {}): string => targetOf(t, { path, method: 'POST', headers });
    assert.equal(post('/pkg.Reviews/Get'), 'reviews-v1');
    assert.equal(post('/pkg.Reviews/List'), 'reviews-v2');
    assert.equal(post('/other.Svc/Health'), 'reviews-v1');
    assert.equal(post('/pkg.AdminV2/Watch'), 'reviews-v2');
    assert.equal(post('/pkg.AdminV2/Delete'), 'none');
    assert.equal(post('/x.Y/Z', { 'x-canary': 'yes' }), 'reviews-v2+reviews-v1');
    const d = route(t, { path: '/x.Y/Z', method: 'POST', headers: { 'x-canary': 'yes' } });
    assert.deepEqual(d?.backends.map((b) => b.weight), [30, 70]);
    assert.deepEqual(d?.requestHeaders?.set, [['x-grpc', '1']]);
  });

  it('rejects filters GRPCRoute does not have and bad regexes', () => {
    const bad = GRPC.replace('filters: [{type: RequestHeaderModifier', 'filters: [{type: URLRewrite, urlRewrite: {hostname: x}}, {type: RequestHeaderModifier').replace('(List|Watch)', '(List');
    const errors = routesFrom(bad).diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.field]);
    assert.deepEqual(errors, [
      ['FIELD_INVALID', 'spec.rules[3].matches[0].method.method'],
      ['UNSUPPORTED', 'spec.rules[4].filters[0].type'],
    ]);
  });
});

describe('the same intent as HTTPRoute and as VirtualService', () => {
  const HTTP_ROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
    - matches: [{path: {type: Exact, value: /login}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: end-user, value: jason}]}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /api}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
`;
  // VirtualService order is significant: written in the precedence order Gateway API computes.
  const VIRTUAL_SERVICE = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: default}
spec:
  hosts: [reviews]
  http:
    - match: [{uri: {exact: /login}}]
      route: [{destination: {host: reviews-v2}}]
    - match: [{uri: {prefix: /api/}, headers: {end-user: {exact: jason}}}, {uri: {exact: /api}, headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews-v2}}]
    - match: [{uri: {prefix: /api/}}, {uri: {exact: /api}}]
      route: [{destination: {host: reviews-v1}}]
`;

  it('routes every request the same way', () => {
    const a = routesFrom(HTTP_ROUTE).table();
    const b = routesFrom(VIRTUAL_SERVICE).table();
    const requests: TestRequest[] = [
      { path: '/login' },
      { path: '/login/x' },
      { path: '/api' },
      { path: '/api/v1/items?x=1' },
      { path: '/apix' },
      { path: '/api/x', headers: { 'end-user': 'jason' } },
      { path: '/api', headers: { 'End-User': 'jason' } },
      { path: '/other' },
    ];
    for (const r of requests) assert.equal(targetOf(b, r), targetOf(a, r), JSON.stringify(r));
  });
});
