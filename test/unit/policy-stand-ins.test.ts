/**
 * The stand-in a rejected security policy leaves (src/config/from-k8s/policy-stand-ins.ts), per
 * action and per readable scope. The live behaviour is in test/integration/policy-stand-in.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';

/** The one document's outcome: must be a rejection; returns its stand-in (or undefined). */
function standInOf(yaml: string): TranslatedObject | undefined {
  const t = translateFile('p.yaml', yaml, { localRanges: true });
  assert.equal(t.outcomes.length, 1);
  const o = t.outcomes[0]!;
  assert.equal(o.status, 'failed', `expected a rejection: ${JSON.stringify(t.diagnostics)}`);
  return o.status === 'failed' ? o.standIn : undefined;
}

const policy = (spec: string, meta = ''): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: ns${meta}}
spec:
${spec}`;

/** A rule that is rejected (bad CIDR) whatever the action. */
const BAD_RULE = '  rules: [{from: [{source: {ipBlocks: ["not-a-cidr"]}}]}]\n';

describe('fail-closed stand-ins for rejected policies', () => {
  it('L4 ALLOW (or no action) → the same selector, no rules (allows nothing)', () => {
    for (const action of ['', '  action: ALLOW\n']) {
      const s = standInOf(policy(`  selector: {matchLabels: {app: a}}\n${action}${BAD_RULE}`));
      assert.equal(s?.type, 'L4Policy');
      if (s?.type !== 'L4Policy') return;
      assert.equal(s.value.action, 'ALLOW');
      assert.deepEqual(s.value.rules, []);
      assert.deepEqual(s.value.selector, { app: 'a' });
      assert.equal(s.value.dryRun, false);
      assert.equal(s.ref.key, 'AuthorizationPolicy/ns/p');
    }
  });

  it('L4 DENY, or an action that does not read → deny everything', () => {
    for (const action of ['DENY', 'DENNY']) {
      const s = standInOf(policy(`  action: ${action}\n${BAD_RULE}`));
      assert.equal(s?.type, 'L4Policy');
      if (s?.type !== 'L4Policy') return;
      assert.equal(s.value.action, 'DENY');
      assert.deepEqual(s.value.rules, [[]], 'one rule without clauses matches every connection');
      assert.equal(s.value.selector, undefined, 'no selector: the namespace');
    }
  });

  it('a selector that does not read widens to the namespace', () => {
    const s = standInOf(policy(`  selector: {matchLabels: {app: [a]}}\n${BAD_RULE}`));
    assert.equal(s?.type === 'L4Policy' ? s.value.selector : 'wrong type', undefined);
  });

  it('AUDIT and dry-run policies leave nothing (never enforced anyway)', () => {
    assert.equal(standInOf(policy(`  action: AUDIT\n  targetRefs: [{kind: Service, group: "", name: r}]\n${BAD_RULE}`)), undefined);
    assert.equal(standInOf(policy(`  selector: {matchLabels: {app: a}}\n${BAD_RULE}`, ', annotations: {istio.io/dry-run: "true"}')), undefined);
  });

  it('L7: ALLOW → no rules at the readable targets; DENY and CUSTOM → one match-all DENY', () => {
    const targets = '  targetRefs: [{kind: Service, group: "", name: r}, {kind: Nope, group: x, name: y}]\n';
    const allow = standInOf(policy(`${targets}${BAD_RULE}`));
    assert.equal(allow?.type, 'L7Policy');
    if (allow?.type !== 'L7Policy') return;
    assert.equal(allow.value.action, 'ALLOW');
    assert.deepEqual(allow.value.rules, []);
    assert.deepEqual(allow.value.targets, [{ kind: 'Service', namespace: 'ns', name: 'r' }]);
    for (const action of ['  action: DENY\n', '  action: CUSTOM\n']) {
      const s = standInOf(policy(`${targets}${action}${BAD_RULE}`));
      assert.equal(s?.type === 'L7Policy' ? s.value.action : undefined, 'DENY');
      assert.deepEqual(s?.type === 'L7Policy' ? s.value.rules : undefined, [{ from: [], to: [], when: [] }]);
    }
  });

  it('L7 with no readable target leaves nothing (it cannot attach anywhere)', () => {
    assert.equal(standInOf(policy(`  targetRefs: [{kind: Nope, group: x, name: y}]\n${BAD_RULE}`)), undefined);
  });

  it('PeerAuthentication → STRICT over its readable scope, no port-level modes', () => {
    const s = standInOf(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: pa, namespace: ns}
spec:
  selector: {matchLabels: {app: a}}
  mtls: {mode: PERMISSIVEE}
  portLevelMtls: {"8080": {mode: DISABLE}}
`);
    assert.equal(s?.type, 'PeerAuthn');
    if (s?.type !== 'PeerAuthn') return;
    assert.equal(s.value.mode, 'STRICT');
    assert.deepEqual(s.value.portLevel, {});
    assert.deepEqual(s.value.selector, { app: 'a' });
  });

  it('kinds without a stand-in are just rejected', () => {
    const t = translateFile('p.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: ns}\nspec: {ports: [{port: 99999}]}\n', { localRanges: true });
    const o = t.outcomes[0]!;
    assert.equal(o.status, 'failed');
    assert.equal(o.status === 'failed' ? o.standIn : 'x', undefined);
  });
});
