/**
 * AuthorizationPolicy evaluation at the waypoint (filters/authz), driven directly with policies
 * from YAML through the real translator: the feature row's policy set (an ALLOW on principal +
 * request principal + methods) plus a DENY with path rules, for an allowed request (every policy
 * evaluated) and a denied one.
 */
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { setRequestAuth } from '../../src/filter/request-auth.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { cidrContains } from '../../src/net/cidr.js';
import { createAuthzFactory } from '../../filters/authz/authz-filter.js';
import { nsPerOp, report } from './micro-runner.js';

const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-client, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: ALLOW
  rules:
    - from: [{source: {principals: [cluster.local/ns/default/sa/client], requestPrincipals: ["https://issuer.bench.test/bench"]}}]
      to: [{operation: {methods: [GET, POST, PUT]}}]
    - from: [{source: {namespaces: [monitoring]}}]
      to: [{operation: {paths: ["/metrics", "/healthz/*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules:
    - to: [{operation: {paths: ["/admin/*", "/admin"]}}]
    - to: [{operation: {methods: [DELETE]}}]
      when: [{key: "request.headers[x-override]", notValues: ["yes"]}]
`;
const t = translateFile('p.yaml', yaml, { localRanges: true });
const errors = t.diagnostics.filter((d) => d.severity === 'error');
if (errors.length > 0) throw new Error(`policies rejected: ${JSON.stringify(errors)}`);
const objects: TranslatedObject[] = [];
for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
const policies = [...(buildSnapshot(objects, 1).snapshot.l7Policies ?? [])];
const factory = createAuthzFactory({ policies, ipInCidr: cidrContains });
if (!factory) throw new Error('no authz filter built');

function ctx(path: string, method: string): HttpRequestContext {
  const headers = new HeaderMap();
  headers.set('user-agent', 'bench');
  const c = new HttpRequestContext({
    method,
    authority: 'reviews:9080',
    path,
    protocol: 'HTTP/1.1',
    headers,
    requestId: 'bench',
    source: { address: '127.1.0.2', port: 40000, principal: 'spiffe://cluster.local/ns/default/sa/client' },
    destination: { hostname: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default', port: 9080, appProtocol: 'http', connectAuthority: '127.100.0.10:9080' },
  });
  setRequestAuth(c.streamInfo, { principal: 'https://issuer.bench.test/bench', audiences: [], claims: { iss: 'https://issuer.bench.test', sub: 'bench' } });
  return c;
}

const allowed = ctx('/api/items?page=2', 'GET');
const denied = ctx('/admin/users', 'GET');
const check = (c: HttpRequestContext, want: string): void => {
  const r = factory.create().onRequestHeaders?.(c, true);
  const got = r && 'action' in r ? r.action : 'none';
  if (got !== want) throw new Error(`expected ${want}, got ${got}`);
};
check(allowed, 'continue');
check(denied, 'respond');
report({ bench: 'authz', metric: '2 policies, allowed (all rules evaluated)', unit: 'ns/op', value: nsPerOp(() => factory.create().onRequestHeaders?.(allowed, true)) });
report({ bench: 'authz', metric: '2 policies, denied by path', unit: 'ns/op', value: nsPerOp(() => factory.create().onRequestHeaders?.(denied, true)) });
