/**
 * AuthorizationPolicy evaluation at the waypoint (filters/authz), driven directly: policies come
 * from YAML through the real translator, requests are filter contexts. Truth tables per field and
 * action, Istio's order (DENY before ALLOW, ALLOW-any-applies), dry-run and AUDIT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { L7PolicyIR } from '../../src/config/ir-security.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import type { FilterResult, RequestContext } from '../../src/filter/api.js';
import { isAsync } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { setRequestAuth } from '../../src/filter/request-auth.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { cidrContains } from '../../src/net/cidr.js';
import type { ShadowDecision } from '../../filters/authz/authz-filter.js';
import { AuthzStats, createAuthzFactory } from '../../filters/authz/authz-filter.js';

function policies(yaml: string): L7PolicyIR[] {
  const t = translateFile('p.yaml', yaml, { localRanges: true });
  const errors = t.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, []);
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  return [...(buildSnapshot(objects, 1).snapshot.l7Policies ?? [])];
}

function policy(name: string, action: string, rules: string, extraMeta = ''): string {
  return `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: default${extraMeta}}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: ${action}
${rules}
`;
}

interface Req {
  method?: string;
  path?: string;
  host?: string;
  principal?: string;
  ip?: string;
  headers?: Record<string, string | string[]>;
  auth?: { principal: string; audiences?: string[]; presenter?: string; claims?: Record<string, unknown> };
  port?: number;
}

function ctx(r: Req = {}): RequestContext {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(r.headers ?? {})) headers.set(k, v);
  const c = new HttpRequestContext({
    method: r.method ?? 'GET',
    authority: r.host ?? 'reviews:9080',
    path: r.path ?? '/',
    protocol: 'HTTP/1.1',
    headers,
    requestId: 'req-1',
    source: { address: r.ip ?? '127.1.0.5', port: 40000, ...(r.principal !== undefined ? { principal: r.principal } : {}) },
    destination: { hostname: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default', port: r.port ?? 9080, appProtocol: 'http', connectAuthority: '127.100.0.10:9080' },
  });
  if (r.auth) setRequestAuth(c.streamInfo, { principal: r.auth.principal, audiences: r.auth.audiences ?? [], ...(r.auth.presenter ? { presenter: r.auth.presenter } : {}), claims: r.auth.claims ?? {} });
  return c;
}

function evaluator(yaml: string, stats = new AuthzStats(), onShadow?: (d: ShadowDecision) => void): (r: Req) => FilterResult | undefined {
  const f = createAuthzFactory({ policies: policies(yaml), ipInCidr: cidrContains, stats, ...(onShadow ? { onShadow } : {}) });
  return (r) => {
    if (!f) return undefined;
    const res = f.create().onRequestHeaders?.(ctx(r), true);
    assert.ok(res && !isAsync(res), 'authz decides synchronously');
    return res;
  };
}

/** `allow` | `deny:<details>` */
function verdict(res: FilterResult | undefined): string {
  if (!res || res.action === 'continue') return 'allow';
  assert.equal(res.reply.status, 403);
  assert.equal(res.reply.body, 'RBAC: access denied');
  return `deny:${res.reply.details ?? ''}`;
}

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const NOTSLEEP = 'spiffe://cluster.local/ns/other/sa/notsleep';

describe('authz: actions and order', () => {
  it('ALLOW by principal: others get [none]', () => {
    const ev = evaluator(policy('allow-sleep', 'ALLOW', '  rules: [{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]}}]}]'));
    assert.equal(verdict(ev({ principal: SLEEP })), 'allow');
    assert.equal(verdict(ev({ principal: NOTSLEEP })), 'deny:rbac_access_denied_matched_policy[none]');
    assert.equal(verdict(ev({})), 'deny:rbac_access_denied_matched_policy[none]', 'no peer identity');
  });

  it('DENY wins over ALLOW and names the matched rule', () => {
    const ev = evaluator(
      policy('allow-all', 'ALLOW', '  rules: [{}]') +
        policy('deny-admin', 'DENY', '  rules: [{to: [{operation: {methods: [GET]}}]}, {to: [{operation: {paths: ["/admin/*"]}}]}]'),
    );
    assert.equal(verdict(ev({ method: 'POST', path: '/x' })), 'allow');
    assert.equal(verdict(ev({ method: 'POST', path: '/admin/users' })), 'deny:rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[1]]');
    assert.equal(verdict(ev({ method: 'GET', path: '/x' })), 'deny:rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]');
  });

  it('an ALLOW policy without rules denies everything; a DENY without rules denies nothing', () => {
    assert.equal(verdict(evaluator(policy('nothing', 'ALLOW', ''))({ principal: SLEEP })), 'deny:rbac_access_denied_matched_policy[none]');
    assert.equal(verdict(evaluator(policy('nothing', 'DENY', ''))({ principal: SLEEP })), 'allow');
  });

  it('AUDIT never changes the decision but is reported; dry-run only logs and counts', () => {
    const stats = new AuthzStats();
    const seen: ShadowDecision[] = [];
    const ev = evaluator(
      policy('audit-all', 'AUDIT', '  rules: [{}]') + policy('dry-deny', 'DENY', '  rules: [{}]', ', annotations: {istio.io/dry-run: "true"}'),
      stats,
      (d) => seen.push(d),
    );
    assert.equal(verdict(ev({ principal: SLEEP })), 'allow');
    assert.equal(stats.shadowDenied, 1);
    assert.equal(stats.audited, 1);
    assert.equal(stats.allowed, 1);
    assert.deepEqual(seen.map((d) => `${d.kind}:${d.result}:${d.policy}`).sort(), [
      'audit:audited:ns[default]-policy[audit-all]-rule[0]',
      'dry-run:denied:ns[default]-policy[dry-deny]-rule[0]',
    ]);
  });

  it('CUSTOM without an external authorizer fails closed for the requests its rules match', () => {
    const ev = evaluator(policy('ext', 'CUSTOM', '  provider: {name: ext-authz}\n  rules: [{to: [{operation: {paths: ["/secure/*"]}}]}]'));
    assert.equal(verdict(ev({ path: '/secure/x' })), 'deny:rbac_access_denied_matched_policy[ns[default]-policy[ext]-rule[0]]');
    assert.equal(verdict(ev({ path: '/open' })), 'allow');
  });

  it('no applicable policy: no filter at all', () => {
    assert.equal(createAuthzFactory({ policies: [], ipInCidr: cidrContains }), undefined);
  });
});

describe('authz: field truth tables', () => {
  const table = (what: string, rule: string, cases: readonly (readonly [Req, boolean])[]): void => {
    it(what, () => {
      const ev = evaluator(policy('p', 'ALLOW', `  rules: [${rule}]`));
      for (const [req, allowed] of cases) assert.equal(verdict(ev(req)) === 'allow', allowed, `${JSON.stringify(req)} should be ${allowed ? 'allowed' : 'denied'}`);
    });
  };
  table('paths: exact, prefix, suffix, presence; the query is ignored', '{to: [{operation: {paths: ["/exact", "/api/*", "*.png"]}}]}', [
    [{ path: '/exact' }, true],
    [{ path: '/exact?x=1' }, true],
    [{ path: '/exact/' }, false],
    [{ path: '/EXACT' }, false],
    [{ path: '/api/v1' }, true],
    [{ path: '/api' }, false],
    [{ path: '/img/a.png' }, true],
    [{ path: '/img/a.png.txt' }, false],
  ]);
  table('notPaths', '{to: [{operation: {notPaths: ["/private*"]}}]}', [
    [{ path: '/public' }, true],
    [{ path: '/private/x' }, false],
  ]);
  table('methods and notMethods', '{to: [{operation: {methods: [GET, HEAD], notMethods: [HEAD]}}]}', [
    [{ method: 'GET' }, true],
    [{ method: 'HEAD' }, false],
    [{ method: 'get' }, false],
    [{ method: 'POST' }, false],
  ]);
  table('hosts: case-insensitive; the port is part of the host, as in istiod (`reviews:*` for any port)', '{to: [{operation: {hosts: ["reviews", "*.example.com", "ratings:*"], notHosts: ["bad.example.com"]}}]}', [
    [{ host: 'reviews' }, true],
    [{ host: 'REVIEWS' }, true],
    [{ host: 'reviews:9080' }, false],
    [{ host: 'ratings:9080' }, true],
    [{ host: 'RATINGS:9080' }, true],
    [{ host: 'a.example.com' }, true],
    [{ host: 'bad.example.com' }, false],
    [{ host: 'ratings' }, false],
  ]);
  table('ports and notPorts (destination service port)', '{to: [{operation: {ports: ["9080", "9081"], notPorts: ["9081"]}}]}', [
    [{ port: 9080 }, true],
    [{ port: 9081 }, false],
    [{ port: 80 }, false],
  ]);
  table('principals: prefix/suffix/presence, not*', '{from: [{source: {principals: ["*"], notPrincipals: ["*/sa/notsleep"]}}]}', [
    [{ principal: SLEEP }, true],
    [{ principal: NOTSLEEP }, false],
    [{}, false],
  ]);
  table('namespaces from the peer identity', '{from: [{source: {namespaces: ["default"], notNamespaces: ["other"]}}]}', [
    [{ principal: SLEEP }, true],
    [{ principal: NOTSLEEP }, false],
    [{}, false],
  ]);
  table('ipBlocks and notIpBlocks (the peer address)', '{from: [{source: {ipBlocks: ["127.1.0.0/16"], notIpBlocks: ["127.1.0.66"]}}]}', [
    [{ ip: '127.1.2.3' }, true],
    [{ ip: '127.1.0.66' }, false],
    [{ ip: '127.2.0.1' }, false],
  ]);
  table('remoteIpBlocks ignore a forged x-forwarded-for', '{from: [{source: {remoteIpBlocks: ["127.9.0.0/16"]}}]}', [
    [{ ip: '127.1.2.3', headers: { 'x-forwarded-for': '127.9.1.1' } }, false],
  ]);
  table('requestPrincipals: any valid JWT, or a given iss/sub', '{from: [{source: {requestPrincipals: ["https://issuer/*"], notRequestPrincipals: ["https://issuer/blocked"]}}]}', [
    [{ auth: { principal: 'https://issuer/alice' } }, true],
    [{ auth: { principal: 'https://issuer/blocked' } }, false],
    [{ auth: { principal: 'https://other/alice' } }, false],
    [{ headers: { authorization: 'Bearer forged' } }, false],
  ]);
  table('from sources are ORed, fields in one source ANDed', '{from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"], ipBlocks: ["127.1.0.5"]}}, {source: {namespaces: ["other"]}}]}', [
    [{ principal: SLEEP, ip: '127.1.0.5' }, true],
    [{ principal: SLEEP, ip: '127.1.0.6' }, false],
    [{ principal: NOTSLEEP, ip: '127.1.0.6' }, true],
  ]);
  table('when: request headers (values/notValues, absent header)', '{when: [{key: "request.headers[x-env]", values: ["prod*"], notValues: ["prod-eu"]}]}', [
    [{ headers: { 'x-env': 'prod-us' } }, true],
    [{ headers: { 'x-env': 'prod-eu' } }, false],
    [{}, false],
  ]);
  table('when: repeated headers are matched joined with "," (no space), as Istio documents', '{when: [{key: "request.headers[X-Env]", values: ["a,b"]}]}', [
    [{ headers: { 'x-env': ['a', 'b'] } }, true],
    [{ headers: { 'x-env': 'a, b' } }, false],
    [{ headers: { 'x-env': 'a' } }, false],
  ]);
  table('when: pseudo-headers are request headers too (a DENY on them must not pass everything)', '{when: [{key: "request.headers[:authority]", values: ["reviews*"]}, {key: "request.headers[:method]", values: ["GET"]}, {key: "request.headers[:path]", values: ["/api/*"]}]}', [
    [{ host: 'reviews:9080', method: 'GET', path: '/api/x' }, true],
    [{ host: 'ratings:9080', method: 'GET', path: '/api/x' }, false],
    [{ host: 'reviews:9080', method: 'POST', path: '/api/x' }, false],
    [{ host: 'reviews:9080', method: 'GET', path: '/web' }, false],
  ]);
  table('when: a header "*" means present, even with an empty value (Envoy present_match)', '{when: [{key: "request.headers[x-debug]", values: ["*"]}]}', [
    [{ headers: { 'x-debug': '' } }, true],
    [{ headers: { 'x-debug': '1' } }, true],
    [{}, false],
  ]);
  table('trustDomains / notTrustDomains and source.trustDomain, source.serviceAccount', `{from: [{source: {trustDomains: ["cluster.local", "td-*"], notTrustDomains: ["td-bad"]}}],
      when: [{key: source.trustDomain, notValues: ["blocked.td"]}, {key: source.serviceAccount, notValues: ["other/notsleep"]}]}`, [
    [{ principal: SLEEP }, true],
    [{ principal: 'spiffe://td-a/ns/default/sa/sleep' }, true],
    [{ principal: 'spiffe://td-bad/ns/default/sa/sleep' }, false],
    [{ principal: 'spiffe://example.org/ns/default/sa/sleep' }, false],
    [{ principal: NOTSLEEP }, false],
    [{}, false],
  ]);
  table('when: notValues alone holds for an absent header', '{when: [{key: "request.headers[x-debug]", notValues: ["*"]}]}', [
    [{}, true],
    [{ headers: { 'x-debug': '1' } }, false],
  ]);
  table('when: claims (string, list, nested), audiences, presenter, auth principal', `{when: [
      {key: "request.auth.claims[groups]", values: ["admin"]},
      {key: "request.auth.claims[org][unit]", values: ["eng"]},
      {key: request.auth.audiences, values: ["api"]},
      {key: request.auth.presenter, values: ["web"]},
      {key: request.auth.principal, values: ["iss/*"]}]}`, [
    [{ auth: { principal: 'iss/u', audiences: ['x', 'api'], presenter: 'web', claims: { groups: ['dev', 'admin'], org: { unit: 'eng' } } } }, true],
    [{ auth: { principal: 'iss/u', audiences: ['api'], presenter: 'web', claims: { groups: 'admin', org: { unit: 'eng' } } } }, true],
    [{ auth: { principal: 'iss/u', audiences: ['api'], presenter: 'web', claims: { groups: ['dev'], org: { unit: 'eng' } } } }, false],
    [{ auth: { principal: 'iss/u', audiences: ['api'], presenter: 'web', claims: { groups: ['admin'], org: { unit: 'ops' } } } }, false],
    [{ auth: { principal: 'iss/u', audiences: ['web'], presenter: 'web', claims: { groups: ['admin'], org: { unit: 'eng' } } } }, false],
    [{ headers: { 'x-groups': 'admin' } }, false],
  ]);
  table('when: source.ip, destination.ip, destination.port, source.principal, source.namespace', `{when: [
      {key: source.ip, values: ["127.1.0.0/16"]},
      {key: destination.ip, values: ["127.100.0.10"]},
      {key: destination.port, notValues: ["22"]},
      {key: source.principal, values: ["cluster.local/ns/default/*"]},
      {key: source.namespace, values: ["default"]}]}`, [
    [{ principal: SLEEP, ip: '127.1.0.5' }, true],
    [{ principal: SLEEP, ip: '127.3.0.5' }, false],
    [{ principal: NOTSLEEP, ip: '127.1.0.5' }, false],
    [{ principal: SLEEP, ip: '127.1.0.5', port: 22 }, false],
  ]);
  table('when: connection.sni is absent inside HBONE', '{when: [{key: connection.sni, values: ["*"]}]}', [[{ principal: SLEEP }, false]]);
});

describe('authz: policies attached to HTTPRoutes', () => {
  /** The route is the first path segment (`/a/...` → `default/a`), as a route table would say. */
  const routeOf = (c: RequestContext): string | undefined => {
    const segment = /^\/([a-z]+)\//.exec(c.path)?.[1];
    return segment === undefined ? undefined : `default/${segment}`;
  };

  function scoped(yaml: string, routes: Record<string, readonly string[]>, stats = new AuthzStats(), withLookup = true): (r: Req) => string {
    const ps = policies(yaml).map((p) => (routes[p.name] ? { ...p, routes: routes[p.name] } : p));
    const f = createAuthzFactory({ policies: ps, ipInCidr: cidrContains, stats, onShadow: () => undefined, ...(withLookup ? { routeOf } : {}) });
    return (r) => {
      const res = f?.create().onRequestHeaders?.(ctx(r), true);
      assert.ok(!res || !isAsync(res));
      return verdict(res);
    };
  }

  it('combines the port\'s and the route\'s policies per request', () => {
    const ev = scoped(
      policy('allow-a', 'ALLOW', '  rules: [{to: [{operation: {paths: ["/a/public"]}}]}]') +
        policy('allow-port', 'ALLOW', '  rules: [{to: [{operation: {paths: ["/a/shared", "/b/ok"]}}]}]') +
        policy('deny-b', 'DENY', '  rules: [{to: [{operation: {paths: ["/b/secret"]}}]}]'),
      { 'allow-a': ['default/a'], 'deny-b': ['default/b'] },
    );
    assert.equal(ev({ path: '/a/public' }), 'allow', 'route ALLOW');
    assert.equal(ev({ path: '/a/shared' }), 'allow', 'port ALLOW');
    assert.equal(ev({ path: '/a/other' }), 'deny:rbac_access_denied_matched_policy[none]');
    assert.equal(ev({ path: '/b/ok' }), 'allow');
    assert.equal(ev({ path: '/b/public' }), 'deny:rbac_access_denied_matched_policy[none]', 'route A\'s ALLOW is not consulted for route B');
    assert.equal(ev({ path: '/b/secret' }), 'deny:rbac_access_denied_matched_policy[ns[default]-policy[deny-b]-rule[0]]');
    assert.equal(ev({ path: '/a/secret' }), 'deny:rbac_access_denied_matched_policy[none]', 'not route B\'s DENY: no ALLOW matched');
  });

  it('with only route policies, a request of no such route is allowed; without a lookup they never apply', () => {
    const yaml = policy('allow-a', 'ALLOW', '  rules: [{to: [{operation: {paths: ["/a/public"]}}]}]');
    const ev = scoped(yaml, { 'allow-a': ['default/a'] });
    assert.equal(ev({ path: '/a/other' }), 'deny:rbac_access_denied_matched_policy[none]');
    assert.equal(ev({ path: '/b/other' }), 'allow');
    assert.equal(ev({ path: '/top' }), 'allow', 'no route');
    assert.equal(scoped(yaml, { 'allow-a': ['default/a'] }, new AuthzStats(), false)({ path: '/a/other' }), 'allow');
  });

  it('dry-run route policies are evaluated for their route only', () => {
    const stats = new AuthzStats();
    const ev = scoped(policy('dry-a', 'DENY', '  rules: [{}]', ', annotations: {istio.io/dry-run: "true"}'), { 'dry-a': ['default/a'] }, stats);
    assert.equal(ev({ path: '/a/x' }), 'allow');
    assert.equal(stats.shadowDenied, 1);
    assert.equal(ev({ path: '/b/x' }), 'allow');
    assert.equal(stats.shadowDenied + stats.shadowAllowed, 1, 'nothing shadow-evaluated for route B');
  });
});
