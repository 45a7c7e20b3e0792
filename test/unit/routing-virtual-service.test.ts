/**
 * VirtualService and DestinationRule: YAML in → IR → compiled table → decision. First match wins
 * in the order written; subsets select endpoints by labels; load balancer policies pick.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestContext, route, routesFrom, targetOf } from '../helpers/route-table-harness.js';

const vs = (http: string, extra = ''): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
${extra}
  http:
${http}
---`;

const DR = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
---`;

const podsOf = (d: ReturnType<typeof route>): string[][] => (d?.backends ?? []).map((b) => b.endpoints.map((e) => e.workload.name));

describe('VirtualService', () => {
  it('matches in the order written: an earlier broad match wins over a later exact one', () => {
    const { table, diagnostics } = routesFrom(
      vs(`
    - match: [{uri: {prefix: /a}}]
      route: [{destination: {host: reviews-v1}}]
    - match: [{uri: {exact: /a/b}}]
      route: [{destination: {host: reviews-v2}}]`),
    );
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(targetOf(table(), '/a/b'), 'reviews-v1');
    assert.equal(targetOf(table(), '/abc'), 'reviews-v1', 'VirtualService prefix is a plain string prefix');
    assert.equal(targetOf(table(), '/b'), 'none');
  });

  it('uri regex, ignoreUriCase, headers, withoutHeaders, queryParams, method, authority, port', () => {
    const { table } = routesFrom(
      vs(`
    - match: [{uri: {regex: "/r/[0-9]+"}}]
      route: [{destination: {host: reviews-v1}}]
    - match: [{uri: {exact: /CaSe}, ignoreUriCase: true}]
      route: [{destination: {host: reviews-v2}}]
    - match: [{headers: {X-User: {prefix: admin}}, withoutHeaders: {x-block: {}}}]
      route: [{destination: {host: reviews-v2}}]
    - match: [{queryParams: {v: {exact: "1"}}, method: {exact: PUT}}]
      route: [{destination: {host: reviews-v1}}]
    - match: [{authority: {exact: special.example}}]
      route: [{destination: {host: reviews-v2}}]
    - match: [{port: 9090}]
      route: [{destination: {host: reviews-v1, port: {number: 9080}}}]`),
    );
    const t = table();
    assert.equal(targetOf(t, '/r/12'), 'reviews-v1');
    assert.equal(targetOf(t, '/case'), 'reviews-v2');
    assert.equal(targetOf(t, { path: '/x', headers: { 'x-user': 'admin-1' } }), 'reviews-v2');
    assert.equal(targetOf(t, { path: '/x', headers: { 'x-user': 'admin-1', 'x-block': '' } }), 'none');
    assert.equal(targetOf(t, { path: '/x?v=1', method: 'PUT' }), 'reviews-v1');
    assert.equal(targetOf(t, { path: '/x?v=1' }), 'none');
    assert.equal(targetOf(t, { path: '/x', authority: 'special.example' }), 'reviews-v2');
    assert.equal(targetOf(table('reviews', 9090), { path: '/x', port: 9090 }), 'reviews-v1');
  });

  it('weights, subsets, headers, rewrite, redirect, directResponse, mirror parse into decisions', () => {
    const { table } = routesFrom(
      DR +
        vs(`
    - match: [{uri: {prefix: /split}}]
      route:
        - {destination: {host: reviews, subset: v1}, weight: 80}
        - {destination: {host: reviews, subset: v2}, weight: 20, headers: {request: {set: {x-subset: v2}}}}
      headers: {request: {add: {x-added: "1"}}, response: {remove: [server]}}
      timeout: 2s
      retries: {attempts: 4, perTryTimeout: 1s, retryOn: "5xx,503"}
      fault: {abort: {httpStatus: 418, percentage: {value: 10}}}
    - match: [{uri: {prefix: /old}}]
      redirect: {uri: /new, authority: new.example}
    - match: [{uri: {prefix: /gone}}]
      directResponse: {status: 410, body: {string: gone}}
    - match: [{uri: {prefix: /api}}]
      rewrite: {uri: /v2}
      route: [{destination: {host: reviews-v1}}]
      mirror: {host: reviews-v2}
      mirrorPercentage: {value: 50}
    - match: [{uri: {prefix: /nosubset}}]
      route: [{destination: {host: reviews, subset: v3}}]`),
    );
    const t = table();
    const d = route(t, '/split');
    assert.deepEqual(podsOf(d), [['reviews-v1'], ['reviews-v2']]);
    assert.deepEqual(d?.backends.map((b) => [b.weight, b.cluster]), [
      [80, 'inbound-vip|9080|http/v1|reviews.default.svc.cluster.local'],
      [20, 'inbound-vip|9080|http/v2|reviews.default.svc.cluster.local'],
    ]);
    assert.deepEqual(d?.backends[1]?.requestHeaders?.set, [['x-subset', 'v2']]);
    assert.deepEqual(d?.requestHeaders?.add, [['x-added', '1']]);
    assert.deepEqual(d?.responseHeaders?.remove, ['server']);
    assert.equal(d?.timeoutMs, 2000);
    assert.equal(d?.retry.numRetries, 4);
    assert.deepEqual(d?.retry.retryOn, ['5xx', 'retriable-status-codes']);
    assert.deepEqual(d?.retry.retriableStatusCodes, [503]);
    const old = route(t, '/old/x')?.respond?.reply(requestContext({ path: '/old/x' }));
    assert.equal(old?.status, 301);
    assert.equal(old?.headers?.['location'], 'http://new.example:9080/new');
    assert.deepEqual([route(t, '/gone')?.respond?.reply(requestContext({ path: '/gone' }))].map((r) => [r?.status, r?.body]), [[410, 'gone']]);
    const ctx = requestContext({ path: '/api/items' });
    t.routeHttp(ctx)?.rewrite?.apply(ctx);
    assert.equal(ctx.path, '/v2/items');
    assert.equal(targetOf(t, '/nosubset'), 'status:503');
  });

  it('DestinationRule load balancers: ROUND_ROBIN on the service, RANDOM on a subset', () => {
    const { table } = routesFrom(DR);
    const d = route(table(), '/');
    const picker = d?.backends[0]?.picker;
    assert.ok(picker, 'the default route takes the DestinationRule policy');
    const ctx = requestContext({ path: '/' });
    const seq = [picker.pick(ctx), picker.pick(ctx), picker.pick(ctx), picker.pick(ctx)].map((e) => e?.workload.name);
    assert.deepEqual(seq, ['reviews-v1', 'reviews-v2', 'reviews-v1', 'reviews-v2']);
  });

  it('diagnostics: bad regex, two actions, unknown load balancer; gateways without mesh are skipped', () => {
    const r = routesFrom(
      vs(`
    - match: [{uri: {regex: "(("}}]
      route: [{destination: {host: reviews-v1}}]`) +
        vs(`
    - route: [{destination: {host: reviews-v1}}]
      redirect: {uri: /x}`).replace('name: reviews', 'name: two') +
        DR.replace('ROUND_ROBIN', 'FASTEST').replace('name: reviews', 'name: dr2') +
        vs(`    - route: [{destination: {host: reviews-v2}}]`, '  gateways: [istio-ingress/gw]').replace('name: reviews', 'name: ingress'),
      'vs.yaml',
    );
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.kind, d.name, d.field]);
    assert.deepEqual(errors, [
      ['VirtualService', 'reviews', 'spec.http[0].match[0].uri.regex'],
      ['VirtualService', 'two', 'spec.http[0]'],
      ['DestinationRule', 'dr2', 'spec.trafficPolicy.loadBalancer.simple'],
    ]);
    assert.equal(route(r.table(), '/')?.name, 'default', 'nothing valid applies: the default route serves');
  });
});

describe('DestinationRule consistent hashing', () => {
  const dr = (hash: string): string => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: sticky, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {consistentHash: ${hash}}}
---`;

  for (const [label, hash, req] of [
    ['header, ring hash', '{httpHeaderName: X-User}', (k: string) => ({ path: '/', headers: { 'x-user': k } })],
    ['cookie, maglev', '{httpCookie: {name: session}, maglev: {}}', (k: string) => ({ path: '/', headers: { cookie: `a=b; session=${k}` } })],
    ['query parameter', '{httpQueryParameterName: u, ringHash: {minimumRingSize: 64}}', (k: string) => ({ path: `/?x=1&u=${k}` })],
  ] as const) {
    it(`${label}: one key, one endpoint; many keys, every endpoint`, () => {
      const { table, diagnostics } = routesFrom(dr(hash));
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
      const picker = route(table(), '/')?.backends[0]?.picker;
      assert.ok(picker);
      const seen = new Set<string>();
      for (let u = 0; u < 40; u++) {
        const ctx = requestContext(req(`user-${u}`));
        const first: string | undefined = picker.pick(ctx)?.workload.name;
        for (let i = 0; i < 3; i++) assert.equal(picker.pick(ctx)?.workload.name, first);
        if (first) seen.add(first);
      }
      assert.deepEqual([...seen].sort(), ['reviews-v1', 'reviews-v2']);
    });
  }

  it('rejects a consistentHash without exactly one key', () => {
    const errors = routesFrom(dr('{httpHeaderName: a, useSourceIp: true}')).diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((e) => e.field), ['spec.trafficPolicy.loadBalancer.consistentHash']);
  });
});
