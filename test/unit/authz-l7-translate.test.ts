/**
 * YAML → IR for waypoint security: AuthorizationPolicy with targetRefs (L7) and
 * RequestAuthentication, with diagnostics naming file, line, kind, namespace/name and field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { L7PolicyIR, RequestAuthnIR } from '../../src/config/ir-security.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';

function build(yaml: string): { l7: readonly L7PolicyIR[]; authn: readonly RequestAuthnIR[]; l4: number; diagnostics: Diagnostic[] } {
  const t = translateFile('sec.yaml', yaml, { localRanges: true });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  const b = buildSnapshot(objects, 1);
  return { l7: b.snapshot.l7Policies ?? [], authn: b.snapshot.requestAuthns ?? [], l4: b.snapshot.l4Policies.length, diagnostics: [...t.diagnostics, ...b.diagnostics] };
}

function ap(spec: string): ReturnType<typeof build> {
  return build(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: p
  namespace: apps
spec:
${spec}`);
}

const TARGET = `  targetRefs:
    - {kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}
`;

describe('AuthorizationPolicy with targetRefs → L7 policy', () => {
  it('keeps every source, operation and when field, with Istio * forms', () => {
    const r = ap(`${TARGET}  action: DENY
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/a/sa/x", "*/sa/y"]
            notPrincipals: ["cluster.local/ns/b/*"]
            requestPrincipals: ["https://issuer/*"]
            notRequestPrincipals: ["*"]
            namespaces: [a]
            notNamespaces: [b]
            ipBlocks: ["127.1.0.0/24"]
            notIpBlocks: ["127.1.0.9"]
            remoteIpBlocks: ["127.0.0.0/8"]
            notRemoteIpBlocks: ["127.9.0.0/16"]
      to:
        - operation:
            hosts: ["Reviews.Default*"]
            notHosts: ["*.evil"]
            ports: ["9080"]
            notPorts: [22]
            methods: [GET]
            notMethods: [DELETE]
            paths: ["/api/*"]
            notPaths: ["*.png"]
      when:
        - {key: "request.headers[X-Version]", values: ["v1"]}
        - {key: "request.auth.claims[groups]", values: ["admin"]}
        - {key: "request.auth.claims[nested][role]", notValues: ["guest"]}
        - {key: source.ip, values: ["127.1.0.0/16"]}
        - {key: destination.port, values: ["9080"]}
        - {key: request.auth.audiences, values: ["api"]}
        - {key: connection.sni, values: ["*"]}`);
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.l4, 0, 'a targetRefs policy is not an L4 policy');
    const p = r.l7[0];
    assert.ok(p);
    assert.equal(p.action, 'DENY');
    assert.deepEqual(p.targets, [{ kind: 'Gateway', namespace: 'apps', name: 'waypoint' }]);
    const rule = p.rules[0];
    assert.ok(rule);
    const src = rule.from[0];
    assert.ok(src);
    assert.deepEqual(src.principals, [{ kind: 'exact', value: 'cluster.local/ns/a/sa/x' }, { kind: 'suffix', value: '/sa/y' }]);
    assert.deepEqual(src.notPrincipals, [{ kind: 'prefix', value: 'cluster.local/ns/b/' }]);
    assert.deepEqual(src.notRequestPrincipals, [{ kind: 'presence' }]);
    assert.deepEqual(src.remoteIpBlocks.map((c) => c.text), ['127.0.0.0/8']);
    const op = rule.to[0];
    assert.ok(op);
    assert.deepEqual(op.hosts, [{ kind: 'prefix', value: 'reviews.default' }], 'hosts are lowercased');
    assert.deepEqual(op.ports, [9080]);
    assert.deepEqual(op.notPorts, [22]);
    assert.deepEqual(op.notPaths, [{ kind: 'suffix', value: '.png' }]);
    assert.deepEqual(rule.when.map((w) => (w.type === 'string' ? w.key : w.key)), [
      { kind: 'request.headers', header: 'x-version' },
      { kind: 'request.auth.claims', path: ['groups'] },
      { kind: 'request.auth.claims', path: ['nested', 'role'] },
      'source.ip',
      'destination.port',
      { kind: 'request.auth.audiences' },
      { kind: 'connection.sni' },
    ]);
  });

  it('accepts Service and root-namespace GatewayClass targets; no rules means match nothing', () => {
    const r = ap(`  targetRefs:
    - {kind: Service, group: "", name: reviews}
    - {kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint}`);
    assert.deepEqual(r.diagnostics, []);
    const p = r.l7[0];
    assert.ok(p);
    assert.equal(p.action, 'ALLOW');
    assert.deepEqual(p.rules, []);
    assert.deepEqual(p.targets, [{ kind: 'Service', namespace: 'apps', name: 'reviews' }, { kind: 'GatewayClass', name: 'istio-waypoint' }]);
  });

  it('accepts HTTPRoute targets (our extension) as route targets, next to other targets', () => {
    const r = ap(`  targetRefs:
    - {kind: HTTPRoute, group: gateway.networking.k8s.io, name: route-a}
    - {kind: Service, group: "", name: reviews}
  action: DENY
  rules: [{}]`);
    assert.deepEqual(r.diagnostics, []);
    const p = r.l7[0];
    assert.ok(p);
    assert.deepEqual(p.routeTargets, [{ namespace: 'apps', name: 'route-a' }]);
    assert.deepEqual(p.targets, [{ kind: 'Service', namespace: 'apps', name: 'reviews' }]);
  });

  it('reads istio.io/dry-run', () => {
    const r = build(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: apps, annotations: {istio.io/dry-run: "true"}}
spec:
${TARGET}  rules: [{}]`);
    assert.equal(r.l7[0]?.dryRun, true);
  });

  for (const [what, spec, field, code] of [
    ['an unknown when key', `${TARGET}  rules: [{when: [{key: request.bogus, values: [x]}]}]`, 'spec.rules[0].when[0].key', 'FIELD_INVALID'],
    ['a bad CIDR', `${TARGET}  rules: [{from: [{source: {ipBlocks: ["300.1.1.1"]}}]}]`, 'spec.rules[0].from[0].source.ipBlocks[0]', 'FIELD_INVALID'],
    ['a bad port', `${TARGET}  rules: [{to: [{operation: {ports: ["http"]}}]}]`, 'spec.rules[0].to[0].operation.ports[0]', 'FIELD_INVALID'],
    ['a selector with targetRefs', `${TARGET}  selector: {matchLabels: {app: x}}`, 'spec.selector', 'FIELD_INVALID'],
    ['a cross-namespace target', `  targetRefs: [{kind: Service, group: "", name: x, namespace: other}]`, 'spec.targetRefs[0].namespace', 'FIELD_INVALID'],
    ['an unsupported target kind', `  targetRefs: [{kind: Pod, group: "", name: x}]`, 'spec.targetRefs[0]', 'FIELD_INVALID'],
    ['an HTTPRoute target outside the Gateway API group', `  targetRefs: [{kind: HTTPRoute, group: networking.istio.io, name: x}]`, 'spec.targetRefs[0]', 'FIELD_INVALID'],
    ['a CUSTOM policy targeting an HTTPRoute', `  targetRefs: [{kind: HTTPRoute, group: gateway.networking.k8s.io, name: x}]\n  action: CUSTOM\n  provider: {name: ext}`, 'spec.targetRefs[0]', 'FIELD_INVALID'],
    ['a CUSTOM policy without provider', `${TARGET}  action: CUSTOM`, 'spec.provider.name', 'FIELD_REQUIRED'],
    ['an empty source', `${TARGET}  rules: [{from: [{source: {}}]}]`, 'spec.rules[0].from[0].source', 'FIELD_INVALID'],
  ] as const) {
    it(`rejects ${what} with a diagnostic naming the field`, () => {
      const r = ap(spec);
      assert.equal(r.l7.length, 0);
      const d = r.diagnostics.find((x) => x.severity === 'error');
      assert.ok(d, JSON.stringify(r.diagnostics));
      assert.equal(d.code, code);
      assert.equal(d.field, field);
      assert.equal(d.file, 'sec.yaml');
      assert.equal(d.kind, 'AuthorizationPolicy');
      assert.equal(d.namespace, 'apps');
      assert.equal(d.name, 'p');
      assert.equal(typeof d.line, 'number');
    });
  }
});

describe('RequestAuthentication → JWT providers', () => {
  const JWKS = JSON.stringify({ keys: [] });
  it('translates jwtRules with defaults (forwardOriginalToken false, 5 s JWKS timeout)', () => {
    const r = build(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: apps}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  jwtRules:
    - issuer: https://issuer.example
      audiences: [api]
      jwks: '${JWKS}'
      fromHeaders: [{name: X-Token, prefix: "Tok "}]
      fromParams: [tok]
      fromCookies: [session]
      outputPayloadToHeader: X-Jwt-Payload
      outputClaimToHeaders: [{header: X-Sub, claim: sub}]
    - issuer: other
      jwksUri: https://127.0.0.1:8443/jwks
      timeout: 2s
      forwardOriginalToken: true
      spaceDelimitedClaims: [roles, scope, custom_scope]`);
    assert.deepEqual(r.diagnostics, []);
    const a = r.authn[0];
    assert.ok(a);
    assert.deepEqual(a.jwtRules[0], {
      issuer: 'https://issuer.example',
      audiences: ['api'],
      jwks: { kind: 'inline', jwks: JWKS },
      fromHeaders: [{ name: 'x-token', prefix: 'Tok ' }],
      fromParams: ['tok'],
      fromCookies: ['session'],
      outputPayloadToHeader: 'x-jwt-payload',
      outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
      forwardOriginalToken: false,
      spaceDelimitedClaims: ['permission', 'scope'],
    });
    assert.deepEqual(a.jwtRules[1]?.jwks, { kind: 'remote', uri: 'https://127.0.0.1:8443/jwks', timeoutMs: 2000 });
    assert.equal(a.jwtRules[1]?.forwardOriginalToken, true);
    // istiod's buildSpaceDelimitedClaims: the defaults always, plus the rule's, sorted, once each.
    assert.deepEqual(a.jwtRules[1]?.spaceDelimitedClaims, ['custom_scope', 'permission', 'roles', 'scope']);
  });

  it('without jwks or jwksUri, uses OpenID discovery from an https issuer', () => {
    const r = build(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: apps}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules: [{issuer: "https://login.example/realms/mesh/"}, {issuer: "http://127.0.0.1:9000", timeout: 1s}]`);
    assert.deepEqual(r.diagnostics, []);
    const rules = r.authn[0]?.jwtRules;
    assert.deepEqual(rules?.[0]?.jwks, { kind: 'remote', uri: 'https://login.example/realms/mesh/.well-known/openid-configuration', timeoutMs: 5000, discovery: true });
    assert.deepEqual(rules?.[1]?.jwks, { kind: 'remote', uri: 'http://127.0.0.1:9000/.well-known/openid-configuration', timeoutMs: 1000, discovery: true });
  });

  it('skips a selector-based RequestAuthentication with a warning', () => {
    const r = build(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: apps}
spec:
  selector: {matchLabels: {app: x}}
  jwtRules: [{issuer: a, jwks: '${JWKS}'}]`);
    assert.equal(r.authn.length, 0);
    assert.equal(r.diagnostics[0]?.code, 'UNSUPPORTED');
  });

  for (const [what, rule, field] of [
    ['a missing issuer', `{jwks: '${JWKS}'}`, 'spec.jwtRules[0].issuer'],
    ['no keys and an issuer that is not a URL', `{issuer: a}`, 'spec.jwtRules[0]'],
    ['no keys and a plain-http issuer', `{issuer: 'http://issuer.example'}`, 'spec.jwtRules[0]'],
    ['inline jwks that is not JSON', `{issuer: a, jwks: 'nope'}`, 'spec.jwtRules[0].jwks'],
    ['a plain-http remote jwksUri', `{issuer: a, jwksUri: 'http://example.com/jwks'}`, 'spec.jwtRules[0].jwksUri'],
    ['a bad header name', `{issuer: a, jwks: '${JWKS}', outputPayloadToHeader: 'bad header'}`, 'spec.jwtRules[0].outputPayloadToHeader'],
  ] as const) {
    it(`rejects ${what}`, () => {
      const r = build(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: apps}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules: [${rule}]`);
      assert.equal(r.authn.length, 0);
      const d = r.diagnostics.find((x) => x.severity === 'error');
      assert.ok(d, JSON.stringify(r.diagnostics));
      assert.equal(d.field, field);
      assert.equal(d.kind, 'RequestAuthentication');
      assert.equal(d.name, 'jwt');
    });
  }

  it('an unknown rule field never widens an ALLOW: the ALLOW rule is dropped, a DENY rule kept without it', () => {
    // `method` (not `methods`) is no field Istio defines: ignoring it would allow every method.
    const allow = ap(`${TARGET}  action: ALLOW
  rules:
    - to: [{operation: {paths: ["/public/*"], method: [GET]}}]
    - to: [{operation: {paths: ["/health"]}}]
    - from: [{source: {namespaces: [a]}, extra: 1}]
    - when: [{key: "request.headers[x-a]", values: ["1"], notvalues: ["2"]}]
    - to: [{operation: {paths: ["/x"]}}]
      unknownRulePart: {}`);
    assert.equal(allow.l7.length, 1);
    assert.deepEqual(allow.l7[0]?.rules.map((r) => r.to[0]?.paths), [[{ kind: 'exact', value: '/health' }]]);
    const warnings = allow.diagnostics.filter((d) => d.code === 'UNSUPPORTED').map((d) => d.field);
    assert.deepEqual(warnings, ['spec.rules[0]', 'spec.rules[2]', 'spec.rules[3]', 'spec.rules[4]']);
    const deny = ap(`${TARGET}  action: DENY
  rules:
    - to: [{operation: {paths: ["/admin/*"], method: [DELETE]}}]`);
    assert.equal(deny.l7[0]?.rules.length, 1, 'kept: it denies more, never less');
    assert.equal(deny.diagnostics[0]?.code, 'UNSUPPORTED');
  });
});
