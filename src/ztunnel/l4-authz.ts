/**
 * L4 AuthorizationPolicy evaluation, as the destination ztunnel does it (istio/ztunnel
 * src/state.rs `assert_rbac`, src/rbac.rs): every matching DENY denies; if any ALLOW policy
 * applies and none matches, deny; otherwise allow. Dry-run policies are evaluated and reported
 * but never decide.
 *
 * Policies come pre-parsed (CIDRs as bytes, matchers as tagged values), so this is pure
 * comparison; the caller passes the policies that apply to the destination workload
 * (`MeshView.l4PoliciesFor`).
 */
import type { L4MatchIR, L4PolicyIR, ServiceAccountMatchIR, StringMatchIR } from '../config/ir.js';
import { isEmptyMatch } from '../config/l4-match.js';
import { cidrContains } from '../net/cidr.js';

/** The facts of one connection that L4 policy can see. */
export interface L4Connection {
  /** The peer's SPIFFE URI from its certificate; absent for plaintext peers. */
  readonly sourceIdentity?: string;
  readonly sourceIp: string;
  readonly destIp: string;
  readonly destPort: number;
}

export type L4DecisionReason =
  /** No ALLOW or DENY policy applies. */
  | 'no-policy'
  /** A DENY policy matched (`policy` names it). */
  | 'deny-matched'
  /** An ALLOW policy matched (`policy` names it). */
  | 'allow-matched'
  /** ALLOW policies apply but none matched (`policy` names the first of them). */
  | 'allow-not-matched'
  /** Only DENY policies apply and none matched. */
  | 'deny-not-matched';

export interface L4Decision {
  readonly allowed: boolean;
  readonly reason: L4DecisionReason;
  /** `namespace/name` of the deciding policy, when one decided. */
  readonly policy?: string;
}

/** What a dry-run policy would have done; reported to `onDryRun`, never enforced. */
export interface L4DryRunResult {
  readonly policy: string;
  readonly action: 'ALLOW' | 'DENY';
  readonly matched: boolean;
}

const ALLOW_NO_POLICY: L4Decision = Object.freeze({ allowed: true, reason: 'no-policy' });
const ALLOW_NO_DENY_MATCH: L4Decision = Object.freeze({ allowed: true, reason: 'deny-not-matched' });

export function evaluateL4(
  policies: readonly L4PolicyIR[],
  conn: L4Connection,
  onDryRun?: (result: L4DryRunResult) => void,
): L4Decision {
  const src = sourceFacts(conn.sourceIdentity);
  let firstAllow: L4PolicyIR | undefined;
  let matchedAllow: L4PolicyIR | undefined;
  for (const p of policies) {
    if (p.dryRun) {
      onDryRun?.({ policy: policyKey(p), action: p.action, matched: policyMatches(p, conn, src) });
      continue;
    }
    switch (p.action) {
      case 'DENY':
        if (policyMatches(p, conn, src)) return { allowed: false, reason: 'deny-matched', policy: policyKey(p) };
        break;
      case 'ALLOW':
        firstAllow ??= p;
        // Keep going after an ALLOW match: a later DENY still wins.
        if (!matchedAllow && policyMatches(p, conn, src)) matchedAllow = p;
        break;
    }
  }
  if (matchedAllow) return { allowed: true, reason: 'allow-matched', policy: policyKey(matchedAllow) };
  if (firstAllow) return { allowed: false, reason: 'allow-not-matched', policy: policyKey(firstAllow) };
  return policies.some((p) => !p.dryRun) ? ALLOW_NO_DENY_MATCH : ALLOW_NO_POLICY;
}

function policyKey(p: L4PolicyIR): string {
  return `${p.namespace}/${p.name}`;
}

interface SourceFacts {
  /** The identity without `spiffe://`, as principals are written; undefined when no identity. */
  readonly principal?: string;
  /** The namespace in the identity path (`…/ns/<ns>/sa/<sa>`). */
  readonly namespace?: string;
  readonly serviceAccount?: string;
}

const SPIFFE_SCHEME = 'spiffe://';
const NO_SOURCE: SourceFacts = Object.freeze({});

/**
 * Parsed as ztunnel parses an identity (src/identity/manager.rs): exactly
 * `spiffe://<td>/ns/<ns>/sa/<sa>`. Anything else is no identity at all, so it fails every positive
 * source match and passes every negative one, as in ztunnel.
 */
function sourceFacts(identity: string | undefined): SourceFacts {
  if (!identity?.startsWith(SPIFFE_SCHEME)) return NO_SOURCE;
  const principal = identity.slice(SPIFFE_SCHEME.length);
  const parts = principal.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return NO_SOURCE;
  return { principal, namespace: parts[2]!, serviceAccount: parts[4]! };
}

/**
 * rules are ORed; clauses within a rule ANDed; matches within a clause ORed (ztunnel src/rbac.rs
 * `Authorization::matches`). No rules: no match. A clause without matches is satisfied; a match
 * with every field empty is skipped (matches nothing), so it can never widen a clause.
 */
function policyMatches(p: L4PolicyIR, conn: L4Connection, src: SourceFacts): boolean {
  for (const rule of p.rules) {
    let all = true;
    for (const clause of rule) {
      if (clause.length > 0 && !clause.some((m) => !isEmptyMatch(m) && matchMatches(m, conn, src))) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** Fields are ANDed, values within a field ORed; an empty field constrains nothing. */
function matchMatches(m: L4MatchIR, conn: L4Connection, src: SourceFacts): boolean {
  if (m.namespaces.length > 0 && !anyString(m.namespaces, src.namespace)) return false;
  if (m.notNamespaces.length > 0 && anyString(m.notNamespaces, src.namespace)) return false;
  if (m.serviceAccounts.length > 0 && !anyServiceAccount(m.serviceAccounts, src)) return false;
  if (m.notServiceAccounts.length > 0 && anyServiceAccount(m.notServiceAccounts, src)) return false;
  if (m.principals.length > 0 && !anyString(m.principals, src.principal)) return false;
  if (m.notPrincipals.length > 0 && anyString(m.notPrincipals, src.principal)) return false;
  if (m.sourceIps.length > 0 && !m.sourceIps.some((c) => cidrContains(c, conn.sourceIp))) return false;
  if (m.notSourceIps.length > 0 && m.notSourceIps.some((c) => cidrContains(c, conn.sourceIp))) return false;
  if (m.destinationIps.length > 0 && !m.destinationIps.some((c) => cidrContains(c, conn.destIp))) return false;
  if (m.notDestinationIps.length > 0 && m.notDestinationIps.some((c) => cidrContains(c, conn.destIp))) return false;
  if (m.destinationPorts.length > 0 && !m.destinationPorts.includes(conn.destPort)) return false;
  if (m.notDestinationPorts.length > 0 && m.notDestinationPorts.includes(conn.destPort)) return false;
  return true;
}

/** Namespace and service account both equal, any trust domain (ztunnel `ServiceAccountMatch::matches`). */
function anyServiceAccount(matchers: readonly ServiceAccountMatchIR[], src: SourceFacts): boolean {
  if (src.serviceAccount === undefined) return false;
  return matchers.some((m) => m.namespace === src.namespace && m.serviceAccount === src.serviceAccount);
}

/** A missing value (no identity) matches no matcher, so it fails positive fields and passes negative ones. */
function anyString(matchers: readonly StringMatchIR[], value: string | undefined): boolean {
  if (value === undefined) return false;
  return matchers.some((m) => stringMatches(m, value));
}

export function stringMatches(m: StringMatchIR, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return value.startsWith(m.value);
    case 'suffix':
      return value.endsWith(m.value);
    case 'presence':
      return value.length > 0;
  }
}
