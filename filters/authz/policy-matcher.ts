/**
 * Compiles an {@link AuthzPolicy} into a matcher once per config snapshot. Evaluation then walks
 * plain arrays: no regex (except path templates, compiled here), no allocation beyond the
 * request's {@link RequestAttributes}.
 *
 * Istio's matching (security/authorization-policy reference, and what istiod generates for
 * Envoy's RBAC filter):
 * - strings: exact, `x*` prefix, `*x` suffix, `*` = present and non-empty; case-sensitive except
 *   hosts, which are compared lowercase; a host's port is part of it (`foo` ≠ `foo:80`);
 * - `request.headers[...]`: repeated fields joined with `,`; `*` = present, even when empty
 *   (istiod's HeaderMatcher `present_match`);
 * - paths match the path without query; principals without `spiffe://`;
 * - a missing attribute (no peer identity, no JWT, absent header) matches no value, so its
 *   `not*`/`notValues` form holds;
 * - list-valued attributes (JWT audiences, list claims) match when any element matches.
 */
import type { AuthzCondition, AuthzOperation, AuthzPolicy, AuthzRule, AuthzSource, AuthzStringKey, Cidr, PathMatch, StringMatch } from '../../src/filter/authz-config.js';
import { compilePathTemplate } from '../../src/filter/path-template.js';
import type { RequestAttributes } from './request-attributes.js';

/** The engine's CIDR containment test (pre-parsed network bytes vs a textual address). */
export type IpInCidr = (cidr: Cidr, ip: string) => boolean;

export interface CompiledPolicy {
  readonly policy: AuthzPolicy;
  /** `ns[<ns>]-policy[<name>]-rule[<i>]`, the name istiod gives the Envoy RBAC policy. */
  readonly ruleNames: readonly string[];
  /** Index of the first matching rule, or -1. */
  match(a: RequestAttributes): number;
}

export function compilePolicy(policy: AuthzPolicy, ipInCidr: IpInCidr): CompiledPolicy {
  compileTemplates(policy);
  const rules = policy.rules.map((r) => compileRule(r, ipInCidr));
  const ruleNames = policy.rules.map((_, i) => `ns[${policy.namespace}]-policy[${policy.name}]-rule[${i}]`);
  return {
    policy,
    ruleNames,
    match(a) {
      for (let i = 0; i < rules.length; i++) if ((rules[i] as RuleMatcher)(a)) return i;
      return -1;
    },
  };
}

const NONE: readonly StringMatch[] = [];

type RuleMatcher = (a: RequestAttributes) => boolean;

function compileRule(rule: AuthzRule, ipInCidr: IpInCidr): RuleMatcher {
  const from = rule.from;
  const to = rule.to;
  const when = rule.when;
  // Plain loops: no closure allocated per rule per request.
  return (a) => {
    if (from.length > 0 && !anySource(from, a, ipInCidr)) return false;
    if (to.length > 0 && !anyOperation(to, a)) return false;
    for (const c of when) if (!conditionMatches(c, a, ipInCidr)) return false;
    return true;
  };
}

function anySource(sources: readonly AuthzSource[], a: RequestAttributes, ipInCidr: IpInCidr): boolean {
  for (const s of sources) if (sourceMatches(s, a, ipInCidr)) return true;
  return false;
}

function anyOperation(operations: readonly AuthzOperation[], a: RequestAttributes): boolean {
  for (const o of operations) if (operationMatches(o, a)) return true;
  return false;
}

// Each attribute is read only when its field has values: the getters parse the peer identity or
// the query, which most rules never look at. Unset fields match, as `field` answers for them.
function sourceMatches(s: AuthzSource, a: RequestAttributes, ipInCidr: IpInCidr): boolean {
  return (
    (unset(s.principals, s.notPrincipals) || field(s.principals, s.notPrincipals, a.principal)) &&
    (unset(s.requestPrincipals, s.notRequestPrincipals) || field(s.requestPrincipals, s.notRequestPrincipals, a.auth?.principal)) &&
    (unset(s.namespaces, s.notNamespaces) || field(s.namespaces, s.notNamespaces, a.sourceNamespace)) &&
    (s.trustDomains === undefined && s.notTrustDomains === undefined ? true : field(s.trustDomains ?? NONE, s.notTrustDomains ?? NONE, a.trustDomain)) &&
    ipField(s.ipBlocks, s.notIpBlocks, a.sourceIp, ipInCidr) &&
    ipField(s.remoteIpBlocks, s.notRemoteIpBlocks, a.sourceIp, ipInCidr)
  );
}

function operationMatches(o: AuthzOperation, a: RequestAttributes): boolean {
  if (o.hosts.length > 0 && !anyHost(o.hosts, a.host)) return false;
  if (o.notHosts.length > 0 && anyHost(o.notHosts, a.host)) return false;
  if (o.ports.length > 0 && !o.ports.includes(a.destinationPort)) return false;
  if (o.notPorts.length > 0 && o.notPorts.includes(a.destinationPort)) return false;
  if (!field(o.methods, o.notMethods, a.method)) return false;
  if (o.paths.length === 0 && o.notPaths.length === 0) return true;
  const path = a.path;
  return (o.paths.length === 0 || anyPath(o.paths, path)) && !anyPath(o.notPaths, path);
}

/**
 * Compiled path templates, by their (frozen) IR object: filled by {@link compilePolicy} at config
 * time so the request path only looks them up.
 */
const TEMPLATES = new WeakMap<PathMatch, RegExp>();

function anyPath(matchers: readonly PathMatch[], path: string): boolean {
  for (const m of matchers) {
    if (m.kind === 'template' ? TEMPLATES.get(m)?.test(path) === true : stringMatches(m, path)) return true;
  }
  return false;
}

function compileTemplates(policy: AuthzPolicy): void {
  for (const rule of policy.rules) {
    for (const op of rule.to) {
      for (const m of [...op.paths, ...op.notPaths]) if (m.kind === 'template' && !TEMPLATES.has(m)) TEMPLATES.set(m, compilePathTemplate(m.value));
    }
  }
}

function conditionMatches(c: AuthzCondition, a: RequestAttributes, ipInCidr: IpInCidr): boolean {
  switch (c.type) {
    case 'ip': {
      const ip = c.key === 'destination.ip' ? a.destinationIp : a.sourceIp;
      return ipField(c.values, c.notValues, ip, ipInCidr);
    }
    case 'port':
      return (c.values.length === 0 || c.values.includes(a.destinationPort)) && !c.notValues.includes(a.destinationPort);
    case 'string': {
      const v = stringAttribute(c.key, a);
      if (c.key.kind === 'request.headers') return (c.values.length === 0 || anyHeader(c.values, v as string | undefined)) && !anyHeader(c.notValues, v as string | undefined);
      return (c.values.length === 0 || anyOf(c.values, v)) && !anyOf(c.notValues, v);
    }
  }
}

/** The value(s) of a string `when` key; `undefined` when absent. */
function stringAttribute(key: AuthzStringKey, a: RequestAttributes): string | readonly string[] | undefined {
  switch (key.kind) {
    case 'request.headers':
      return a.header(key.header);
    case 'source.namespace':
      return a.sourceNamespace;
    case 'source.principal':
      return a.principal;
    case 'source.trustDomain':
      return a.trustDomain;
    case 'request.auth.principal':
      return a.auth?.principal;
    case 'request.auth.audiences':
      return a.auth?.audiences;
    case 'request.auth.presenter':
      return a.auth?.presenter;
    case 'request.auth.claims':
      return claimAt(a.auth?.claims, key.path);
    case 'connection.sni':
      // Requests arrive in plaintext inside the HBONE tunnel: there is no SNI at the waypoint.
      return undefined;
  }
}

/** A string or list-of-strings claim at a nested path; other types never match (as in Istio). */
export function claimAt(claims: Readonly<Record<string, unknown>> | undefined, path: readonly string[]): string | readonly string[] | undefined {
  let cur: unknown = claims;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (typeof cur === 'string') return cur;
  if (Array.isArray(cur)) return cur.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function unset(values: readonly unknown[], notValues: readonly unknown[]): boolean {
  return values.length === 0 && notValues.length === 0;
}

function field(values: readonly StringMatch[], notValues: readonly StringMatch[], v: string | undefined): boolean {
  if (values.length > 0 && !anyOf(values, v)) return false;
  return notValues.length === 0 || !anyOf(notValues, v);
}

function ipField(values: readonly Cidr[], notValues: readonly Cidr[], ip: string | undefined, ipInCidr: IpInCidr): boolean {
  if (values.length > 0 && (ip === undefined || !values.some((c) => ipInCidr(c, ip)))) return false;
  return notValues.length === 0 || ip === undefined || !notValues.some((c) => ipInCidr(c, ip));
}

function anyOf(matchers: readonly StringMatch[], v: string | readonly string[] | undefined): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') return anyString(matchers, v);
  for (const x of v) if (anyString(matchers, x)) return true;
  return false;
}

/** A header condition: `*` means "present", even with an empty value (Envoy `present_match`). */
function anyHeader(matchers: readonly StringMatch[], v: string | undefined): boolean {
  if (v === undefined) return false;
  for (const m of matchers) if (m.kind === 'presence' || stringMatches(m, v)) return true;
  return false;
}

function anyString(matchers: readonly StringMatch[], v: string): boolean {
  for (const m of matchers) if (stringMatches(m, v)) return true;
  return false;
}

/**
 * `:authority` against `hosts`: the whole value, case-insensitively, as istiod's HostMatcher
 * generates it. A port is part of the value: `hosts: [foo]` does not match `foo:8080`; Istio's
 * best practice is to list `foo` and `foo:*` (docs/security.md).
 */
function anyHost(matchers: readonly StringMatch[], host: string): boolean {
  return anyString(matchers, host);
}

export function stringMatches(m: StringMatch, v: string): boolean {
  switch (m.kind) {
    case 'exact':
      return v === m.value;
    case 'prefix':
      return v.startsWith(m.value);
    case 'suffix':
      return v.endsWith(m.value);
    case 'presence':
      return v.length > 0;
  }
}
