import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { L4Connection, L4DryRunResult } from '../../src/ztunnel/l4-authz.js';
import { evaluateL4 } from '../../src/ztunnel/l4-authz.js';
import type { L4MatchSpec } from '../helpers/mesh-builders.js';
import { l4Match, l4Policy, prefix, presence, spiffeId, suffix } from '../helpers/mesh-builders.js';

const conn = (over: Partial<L4Connection> = {}): L4Connection => ({
  sourceIdentity: spiffeId('default', 'sleep'),
  sourceIp: '127.1.0.5',
  destIp: '127.1.0.9',
  destPort: 9080,
  ...over,
});

test('no policies: allow', () => {
  assert.deepEqual(evaluateL4([], conn()), { allowed: true, reason: 'no-policy' });
});

test('a matching DENY denies and is named; a non-matching one allows', () => {
  const deny = l4Policy({ name: 'no-sleep', action: 'DENY', matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] });
  assert.deepEqual(evaluateL4([deny], conn()), { allowed: false, reason: 'deny-matched', policy: 'default/no-sleep' });
  assert.equal(evaluateL4([deny], conn({ sourceIdentity: spiffeId('default', 'other') })).allowed, true);
});

test('principals are matched without spiffe://, with exact/prefix/suffix/presence', () => {
  const allowWith = (m: L4MatchSpec) => [l4Policy({ name: 'a', action: 'ALLOW', matches: [m] })];
  assert.equal(evaluateL4(allowWith({ principals: ['spiffe://cluster.local/ns/default/sa/sleep'] }), conn()).allowed, false);
  assert.equal(evaluateL4(allowWith({ principals: [prefix('cluster.local/ns/default/')] }), conn()).allowed, true);
  assert.equal(evaluateL4(allowWith({ principals: [suffix('/sa/sleep')] }), conn()).allowed, true);
  assert.equal(evaluateL4(allowWith({ principals: [presence()] }), conn()).allowed, true);
  assert.equal(evaluateL4(allowWith({ principals: [presence()] }), conn({ sourceIdentity: undefined })).allowed, false);
});

test('ALLOW: one applies and none matches → deny; one matches → allow', () => {
  const a = l4Policy({ name: 'only-a', action: 'ALLOW', matches: [{ principals: ['cluster.local/ns/default/sa/a'] }] });
  const b = l4Policy({ name: 'only-b', action: 'ALLOW', matches: [{ principals: ['cluster.local/ns/default/sa/b'] }] });
  assert.deepEqual(evaluateL4([a, b], conn()), { allowed: false, reason: 'allow-not-matched', policy: 'default/only-a' });
  assert.deepEqual(evaluateL4([a, b], conn({ sourceIdentity: spiffeId('default', 'b') })), {
    allowed: true,
    reason: 'allow-matched',
    policy: 'default/only-b',
  });
});

test('DENY wins over a matching ALLOW regardless of order', () => {
  const allow = l4Policy({ name: 'allow-all', action: 'ALLOW' });
  const deny = l4Policy({ name: 'deny-port', action: 'DENY', matches: [{ destinationPorts: [9080] }] });
  assert.equal(evaluateL4([allow, deny], conn()).policy, 'default/deny-port');
  assert.equal(evaluateL4([deny, allow], conn()).allowed, false);
  assert.equal(evaluateL4([allow, deny], conn({ destPort: 9081 })).allowed, true);
});

test('an ALLOW with no rules matches nothing (deny all), one empty rule matches everything', () => {
  const denyAll = l4Policy({ name: 'deny-all', action: 'ALLOW', rules: [] });
  const allowAll = l4Policy({ name: 'allow-all', action: 'ALLOW', rules: [[]] });
  assert.equal(evaluateL4([denyAll], conn()).allowed, false);
  assert.equal(evaluateL4([allowAll], conn()).allowed, true);
});

test('namespace comes from the identity; negative fields exclude', () => {
  const p = l4Policy({ name: 'ns', action: 'ALLOW', matches: [{ namespaces: ['default'], notPrincipals: [suffix('/sa/evil')] }] });
  assert.equal(evaluateL4([p], conn()).allowed, true);
  assert.equal(evaluateL4([p], conn({ sourceIdentity: spiffeId('default', 'evil') })).allowed, false);
  assert.equal(evaluateL4([p], conn({ sourceIdentity: spiffeId('other', 'sleep') })).allowed, false);
  const notNs = l4Policy({ name: 'not-ns', action: 'DENY', matches: [{ notNamespaces: ['default'] }] });
  assert.equal(evaluateL4([notNs], conn()).allowed, true);
  assert.equal(evaluateL4([notNs], conn({ sourceIdentity: spiffeId('prod', 'x') })).allowed, false);
});

test('fields AND, values OR, clauses AND, rules OR', () => {
  const p = l4Policy({
    name: 'mix',
    action: 'ALLOW',
    rules: [
      [[l4Match({ sourceIps: ['127.1.0.0/24', '127.9.0.0/16'] })], [l4Match({ destinationPorts: [80] }), l4Match({ destinationPorts: [9080] })]],
      [[l4Match({ destinationIps: ['127.1.0.200'], notSourceIps: ['127.1.0.5'] })]],
    ],
  });
  assert.equal(evaluateL4([p], conn()).allowed, true, 'rule 1: ip in first cidr and port in second match');
  assert.equal(evaluateL4([p], conn({ destPort: 81 })).allowed, false, 'rule 1 second clause fails');
  assert.equal(evaluateL4([p], conn({ sourceIp: '127.2.0.1' })).allowed, false, 'rule 1 first clause fails');
  assert.equal(evaluateL4([p], conn({ sourceIp: '127.1.0.6', destPort: 1 })).allowed, false, 'rule 1 fails on port, rule 2 on dest ip');
  assert.equal(evaluateL4([p], conn({ sourceIp: '127.2.0.6', destIp: '127.1.0.200', destPort: 1 })).allowed, true, 'rule 2');
  assert.equal(evaluateL4([p], conn({ sourceIp: '127.1.0.5', destIp: '127.1.0.200', destPort: 1 })).allowed, false, 'notSourceIps');
  const np = l4Policy({ name: 'np', action: 'DENY', matches: [{ notDestinationPorts: [9080], notDestinationIps: ['127.1.0.0/16'] }] });
  assert.equal(evaluateL4([np], conn()).allowed, true);
  assert.equal(evaluateL4([np], conn({ destPort: 1, destIp: '127.9.0.1' })).allowed, false);
});

test('dry-run policies are reported, never enforced', () => {
  const seen: L4DryRunResult[] = [];
  const dry = l4Policy({ name: 'dry-deny', action: 'DENY', dryRun: true });
  const dryAllow = l4Policy({ name: 'dry-allow', action: 'ALLOW', dryRun: true, matches: [{ principals: ['nobody'] }] });
  const d = evaluateL4([dry, dryAllow], conn(), (r) => seen.push(r));
  assert.deepEqual(d, { allowed: true, reason: 'no-policy' });
  assert.deepEqual(seen, [
    { policy: 'default/dry-deny', action: 'DENY', matched: true },
    { policy: 'default/dry-allow', action: 'ALLOW', matched: false },
  ]);
});

test('service_accounts: namespace and account both exact, any trust domain; none without an identity', () => {
  const allowWith = (m: L4MatchSpec) => [l4Policy({ name: 'sa', action: 'ALLOW', matches: [m] })];
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), conn()).allowed, true);
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), conn({ sourceIdentity: 'spiffe://other.td/ns/default/sa/sleep' })).allowed, true);
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), conn({ sourceIdentity: spiffeId('default', 'sleepy') })).allowed, false);
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), conn({ sourceIdentity: spiffeId('other', 'sleep') })).allowed, false);
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), conn({ sourceIdentity: undefined })).allowed, false);
  assert.equal(evaluateL4(allowWith({ notServiceAccounts: ['default/sleep'] }), conn()).allowed, false);
  assert.equal(evaluateL4(allowWith({ notServiceAccounts: ['default/sleep'] }), conn({ sourceIdentity: spiffeId('default', 'b') })).allowed, true);
});

test('an identity that is not exactly spiffe://td/ns/N/sa/S is no identity (as ztunnel parses it)', () => {
  const allowWith = (m: L4MatchSpec) => [l4Policy({ name: 'p', action: 'ALLOW', matches: [m] })];
  const odd = conn({ sourceIdentity: 'spiffe://evil/ns/x/sa/y/ns/default/sa/sleep' });
  assert.equal(evaluateL4(allowWith({ principals: [suffix('/ns/default/sa/sleep')] }), odd).allowed, false);
  assert.equal(evaluateL4(allowWith({ serviceAccounts: ['default/sleep'] }), odd).allowed, false);
  assert.equal(evaluateL4(allowWith({ namespaces: ['x'] }), odd).allowed, false);
});

test('a match with every field empty matches nothing; a clause without matches is satisfied (ztunnel rbac.rs)', () => {
  const allowEmptyMatch = l4Policy({ name: 'e', action: 'ALLOW', rules: [[[l4Match({})]]] });
  const denyEmptyMatch = l4Policy({ name: 'e', action: 'DENY', rules: [[[l4Match({})]]] });
  const allowEmptyClause = l4Policy({ name: 'c', action: 'ALLOW', rules: [[[]]] });
  assert.equal(evaluateL4([allowEmptyMatch], conn()).allowed, false, 'an empty match never admits');
  assert.equal(evaluateL4([denyEmptyMatch], conn()).allowed, true, 'an empty match never denies');
  assert.equal(evaluateL4([allowEmptyClause], conn()).allowed, true);
  // An empty match next to a real one: only the real one counts.
  const mixed = l4Policy({ name: 'm', action: 'ALLOW', rules: [[[l4Match({}), l4Match({ principals: ['cluster.local/ns/default/sa/b'] })]]] });
  assert.equal(evaluateL4([mixed], conn()).allowed, false);
  assert.equal(evaluateL4([mixed], conn({ sourceIdentity: spiffeId('default', 'b') })).allowed, true);
});
