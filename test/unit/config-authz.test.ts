import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { L4MatchIR, L4PolicyIR } from '../../src/config/ir.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';

function policies(yaml: string): { policies: readonly L4PolicyIR[]; diagnostics: Diagnostic[] } {
  const t = translateFile('ap.yaml', yaml, { localRanges: true });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  const b = buildSnapshot(objects, 1);
  return { policies: b.snapshot.l4Policies, diagnostics: [...t.diagnostics, ...b.diagnostics] };
}

function one(spec: string, meta = 'name: p\n  namespace: apps'): { policy: L4PolicyIR | undefined; diagnostics: Diagnostic[] } {
  const r = policies(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  ${meta}
spec:
${spec}`);
  return { policy: r.policies[0], diagnostics: r.diagnostics };
}

const M: L4MatchIR = {
  namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], sourceIps: [], notSourceIps: [],
  destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [], serviceAccounts: [], notServiceAccounts: [],
};
/** A match with only the given fields set; CIDRs compared by text. */
function m(fields: Partial<L4MatchIR>): L4MatchIR {
  return { ...M, ...fields };
}
function cidrTexts(policy: L4PolicyIR | undefined): unknown {
  return JSON.parse(JSON.stringify(policy?.rules, (k, v: unknown) => (k === 'network' || k === 'family' || k === 'prefixLength' ? undefined : v)));
}

describe('AuthorizationPolicy → L4 policy', () => {
  it('translates from/to/when into clauses (AND) of matches (OR)', () => {
    const { policy, diagnostics } = one(`  selector: {matchLabels: {app: web}}
  action: ALLOW
  rules:
    - from:
        - source: {principals: ["cluster.local/ns/a/sa/x"], namespaces: ["a"]}
        - source: {ipBlocks: ["127.1.0.0/24"], notIpBlocks: ["127.1.0.7"]}
      to:
        - operation: {ports: ["8080", 9090], notPorts: ["22"]}
      when:
        - {key: destination.port, values: ["8080"]}
        - {key: source.namespace, notValues: ["evil"]}`);
    assert.deepEqual(diagnostics, []);
    assert.ok(policy);
    assert.equal(policy.action, 'ALLOW');
    assert.deepEqual(policy.scope, { kind: 'selector', matchLabels: { app: 'web' } });
    assert.equal(policy.dryRun, false);
    assert.deepEqual(cidrTexts(policy), JSON.parse(JSON.stringify([
      [
        [m({ destinationPorts: [8080, 9090], notDestinationPorts: [22] })],
        [
          m({ principals: [{ kind: 'exact', value: 'cluster.local/ns/a/sa/x' }], namespaces: [{ kind: 'exact', value: 'a' }] }),
          m({ sourceIps: [{ text: '127.1.0.0/24' }] as never, notSourceIps: [{ text: '127.1.0.7' }] as never }),
        ],
        [m({ destinationPorts: [8080] })],
        [m({ notNamespaces: [{ kind: 'exact', value: 'evil' }] })],
      ],
    ])));
    const cidr = policy.rules[0]?.[1]?.[1]?.notSourceIps[0];
    assert.equal(cidr?.prefixLength, 32);
  });

  it("Istio's `*` semantics: presence, suffix, prefix, exact", () => {
    const { policy } = one(`  rules:
    - from:
        - source: {principals: ["*", "*/sa/admin", "cluster.local/ns/ops/*", "td/ns/a/sa/b"]}`);
    assert.deepEqual(policy?.rules[0]?.[0]?.[0]?.principals, [
      { kind: 'presence' },
      { kind: 'suffix', value: '/sa/admin' },
      { kind: 'prefix', value: 'cluster.local/ns/ops/' },
      { kind: 'exact', value: 'td/ns/a/sa/b' },
    ]);
  });

  it('serviceAccounts become ServiceAccountMatch values, as istiod sends them', () => {
    const { policy, diagnostics } = one(`  rules:
    - from:
        - source: {serviceAccounts: ["other/sa1", "sa2"], notServiceAccounts: ["x/y"]}`);
    assert.deepEqual(diagnostics, []);
    const match = policy?.rules[0]?.[0]?.[0];
    assert.deepEqual(match?.serviceAccounts, [
      { namespace: 'other', serviceAccount: 'sa1' },
      { namespace: 'apps', serviceAccount: 'sa2' },
    ]);
    assert.deepEqual(match?.notServiceAccounts, [{ namespace: 'x', serviceAccount: 'y' }]);
    assert.deepEqual(match?.principals, []);
  });

  it('ALLOW: a rule needing HTTP attributes is dropped; the others stay; a warning says so', () => {
    const { policy, diagnostics } = one(`  action: ALLOW
  rules:
    - to: [{operation: {methods: ["GET"], ports: ["80"]}}]
    - from: [{source: {requestPrincipals: ["*"]}}]
    - when: [{key: "request.headers[x-user]", values: ["a"]}]
    - from: [{source: {remoteIpBlocks: ["127.9.0.0/16"]}}]
    - to: [{operation: {ports: ["8080"]}}]`);
    assert.deepEqual(policy?.rules, [[[m({ destinationPorts: [8080] })]]]);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]?.code, 'UNSUPPORTED');
    assert.equal(diagnostics[0]?.severity, 'warning');
    assert.match(diagnostics[0]?.message ?? '', /methods, remoteIpBlocks, requestPrincipals, when request\.headers\[x-user\]/);
  });

  it('an unknown rule field never widens an ALLOW: the ALLOW rule is dropped, a DENY rule kept without it', () => {
    // `port` (not `ports`) and `namespace` (not `namespaces`) are no fields Istio defines: ignoring
    // them would let every port, or every namespace, through.
    const allow = one(`  action: ALLOW
  rules:
    - to: [{operation: {port: ["80"]}}]
      from: [{source: {namespaces: ["a"]}}]
    - from: [{source: {namespace: ["b"]}}]
    - to: [{operation: {ports: ["8080"]}}]`);
    assert.deepEqual(allow.policy?.rules, [[[m({ destinationPorts: [8080] })]]]);
    assert.deepEqual(
      allow.diagnostics.filter((d) => d.code === 'UNSUPPORTED').map((d) => d.field),
      ['spec.rules[0]', 'spec.rules[1]'],
    );
    const deny = one(`  action: DENY
  rules:
    - from: [{source: {namespaces: ["a"], principal: ["x"]}}]`);
    assert.deepEqual(deny.policy?.rules, [[[m({ namespaces: [{ kind: 'exact', value: 'a' }] })]]], 'kept without the unknown field: it denies more, never less');
    assert.equal(deny.diagnostics[0]?.code, 'UNSUPPORTED');
  });

  it('ALLOW with only HTTP rules allows nothing (no rules left: fail closed)', () => {
    const { policy } = one(`  rules:
    - to: [{operation: {paths: ["/admin"]}}]`);
    assert.ok(policy);
    assert.deepEqual(policy.rules, []);
  });

  it('DENY: HTTP parts are removed (a clause left with an empty match is dropped), making the rule broader', () => {
    const { policy, diagnostics } = one(`  action: DENY
  rules:
    - to: [{operation: {paths: ["/admin"], ports: ["8080"]}}]
    - to: [{operation: {methods: ["POST"]}}]
      from: [{source: {requestPrincipals: ["*"], namespaces: ["x"]}}]
    - when: [{key: "request.auth.claims[group]", values: ["a"]}]`);
    assert.equal(policy?.action, 'DENY');
    assert.deepEqual(policy?.rules, [
      [[m({ destinationPorts: [8080] })]],
      [[m({ namespaces: [{ kind: 'exact', value: 'x' }] })]],
      [],
    ]);
    assert.equal(diagnostics[0]?.code, 'UNSUPPORTED');
    assert.match(diagnostics[0]?.message ?? '', /DENY policy with HTTP attributes is enforced without the HTTP rules/);
  });

  it('no rules never match; a `{}` rule matches everything', () => {
    assert.deepEqual(one(`  action: ALLOW`).policy?.rules, []);
    assert.deepEqual(one(`  action: ALLOW\n  rules: [{}]`).policy?.rules, [[]]);
    assert.deepEqual(one(`  action: DENY\n  rules: [{}]`).policy?.rules, [[]]);
  });

  it('scope: namespace, or global in the root namespace', () => {
    assert.deepEqual(one(`  rules: [{}]`).policy?.scope, { kind: 'namespace' });
    assert.deepEqual(one(`  rules: [{}]`, 'name: mesh-wide\n  namespace: istio-system').policy?.scope, { kind: 'global' });
  });

  it('dry-run annotation', () => {
    const meta = 'name: p\n  namespace: apps\n  annotations: {istio.io/dry-run: "true"}';
    assert.equal(one(`  rules: [{}]`, meta).policy?.dryRun, true);
  });

  it('targetRefs (waypoint policies) are skipped without a diagnostic', () => {
    const r = one(`  targetRefs: [{kind: Service, group: "", name: web}]
  rules: [{to: [{operation: {methods: ["GET"]}}]}]`);
    assert.equal(r.policy, undefined);
    assert.deepEqual(r.diagnostics, []);
  });

  it('AUDIT and CUSTOM are not enforced at L4 (warning)', () => {
    for (const action of ['AUDIT', 'CUSTOM']) {
      const r = one(`  action: ${action}\n  rules: [{}]`);
      assert.equal(r.policy, undefined);
      assert.equal(r.diagnostics[0]?.code, 'UNSUPPORTED');
      assert.equal(r.diagnostics[0]?.severity, 'warning');
      assert.equal(r.diagnostics[0]?.field, 'spec.action');
    }
  });

  it('invalid content rejects the policy with a field-level error', () => {
    const bad: [string, string, string][] = [
      ['  action: PERMIT', 'FIELD_INVALID', 'spec.action'],
      ['  rules: [{from: [{source: {ipBlocks: ["127.0.0.0/33"]}}]}]', 'FIELD_INVALID', 'spec.rules[0].from[0].source.ipBlocks[0]'],
      ['  rules: [{to: [{operation: {ports: ["http"]}}]}]', 'FIELD_INVALID', 'spec.rules[0].to[0].operation.ports[0]'],
      ['  rules: [{to: [{operation: {ports: [70000]}}]}]', 'FIELD_INVALID', 'spec.rules[0].to[0].operation.ports[0]'],
      ['  rules: [{when: [{key: destination.port, values: ["x"]}]}]', 'FIELD_INVALID', 'spec.rules[0].when[0].values[0]'],
      ['  rules: [{from: [{source: {}}]}]', 'FIELD_INVALID', 'spec.rules[0].from[0].source'],
      ['  rules: [{from: [{source: {principals: ["a"], serviceAccounts: ["b"]}}]}]', 'FIELD_INVALID', 'spec.rules[0].from[0].source'],
    ];
    for (const [spec, code, field] of bad) {
      const r = one(spec);
      assert.equal(r.policy, undefined, spec);
      const err = r.diagnostics.find((d) => d.severity === 'error');
      assert.equal(err?.code, code, spec);
      assert.equal(err?.field, field, spec);
      assert.equal(err?.kind, 'AuthorizationPolicy');
      assert.equal(err?.namespace, 'apps');
      assert.equal(err?.name, 'p');
    }
  });
});
