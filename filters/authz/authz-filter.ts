/**
 * `envoy.filters.http.rbac` as Istio configures it for a waypoint: the AuthorizationPolicies
 * attached to one service port, evaluated on request headers (phase AUTHZ, after JWT authn).
 *
 * Decision order (istio.io security/authorization-policy "implicit enablement" and evaluation):
 * 1. CUSTOM: policies whose extension provider is configured are checked by the ext_authz filter
 *    (`filters/ext-authz/`, phase CUSTOM_AUTHZ, before this one). The CUSTOM policies that reach
 *    this filter have no usable provider, so they fail closed: requests their rules match are
 *    denied, like a DENY policy (what istiod does when a CUSTOM policy's provider cannot be used).
 * 2. DENY: any matching DENY policy → 403.
 * 3. ALLOW: when at least one ALLOW policy applies, a request no ALLOW policy matches → 403.
 * 4. Otherwise allowed. AUDIT policies never change the decision; they and dry-run policies
 *    (`istio.io/dry-run`, Envoy's shadow rules) are evaluated, counted and reported to `onShadow`.
 *
 * Policies attached to an HTTPRoute (our extension) join the evaluation of the requests that
 * route decides; the rule above is applied to the port's policies plus the route's, per request.
 *
 * Denials are Envoy's local reply: 403 `RBAC: access denied`, details
 * `rbac_access_denied_matched_policy[<rule>]` (`[none]` when no ALLOW matched), no response flag
 * (failure code `RBAC_ACCESS_DENIED` in src/failures.ts). Replies are built at config time.
 */
import type { FilterFactory, HookResult, RequestContext, Respond, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { AuthzPolicy } from '../../src/filter/authz-config.js';
import type { CompiledPolicy, IpInCidr } from './policy-matcher.js';
import { compilePolicy } from './policy-matcher.js';
import { RequestAttributes } from './request-attributes.js';

export const AUTHZ_FILTER_NAME = 'envoy.filters.http.rbac';
export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** Counters of decisions, shared by every chain built from one provider (metrics, tests). */
export class AuthzStats {
  allowed = 0;
  denied = 0;
  /** Dry-run (shadow) evaluations that would have denied / allowed. */
  shadowDenied = 0;
  shadowAllowed = 0;
  /** Requests matched by an AUDIT policy. */
  audited = 0;
}

/** A shadow decision: what a dry-run policy would have done, or an AUDIT match. */
export interface ShadowDecision {
  readonly kind: 'dry-run' | 'audit';
  /** `allowed` / `denied` for dry-run policies; `audited` for AUDIT matches. */
  readonly result: 'allowed' | 'denied' | 'audited';
  /** The matched rule name (`ns[..]-policy[..]-rule[..]`), or `none`. */
  readonly policy: string;
  readonly requestId: string;
}

export interface AuthzFilterOptions {
  readonly policies: readonly AuthzPolicy[];
  readonly ipInCidr: IpInCidr;
  readonly stats?: AuthzStats;
  readonly onShadow?: (d: ShadowDecision) => void;
  /**
   * The HTTPRoute (`namespace/name`) that routes a request, for policies attached to routes
   * ({@link AuthzPolicy.routes}); looked up only when such a policy is in `policies`.
   */
  readonly routeOf?: (ctx: RequestContext) => string | undefined;
}

interface CompiledSet {
  readonly deny: readonly CompiledPolicy[];
  readonly allow: readonly CompiledPolicy[];
}

/** What one request is evaluated against: enforced, dry-run and AUDIT policies. */
interface PolicySets {
  readonly enforced: CompiledSet;
  readonly shadow: CompiledSet;
  readonly audit: readonly CompiledPolicy[];
  readonly hasShadow: boolean;
}

/** Returns `undefined` when no policy applies: the chain then needs no authz filter at all. */
export function createAuthzFactory(opts: AuthzFilterOptions): FilterFactory | undefined {
  if (opts.policies.length === 0) return undefined;
  const compiled = new Map<AuthzPolicy, CompiledPolicy>();
  const compile = (p: AuthzPolicy): CompiledPolicy => {
    let c = compiled.get(p);
    if (!c) compiled.set(p, (c = compilePolicy(p, opts.ipInCidr)));
    return c;
  };
  const setsOf = (policies: readonly AuthzPolicy[]): PolicySets => {
    const enforced = split(policies.filter((p) => !p.dryRun), compile);
    const shadow = split(policies.filter((p) => p.dryRun), compile);
    const audit = policies.filter((p) => p.action === 'AUDIT').map(compile);
    return { enforced, shadow, audit, hasShadow: shadow.deny.length + shadow.allow.length + audit.length > 0 };
  };
  // The port's own policies, and per HTTPRoute those plus the route's: one combined set per route,
  // so Istio's rule holds per request (any applicable DENY denies; if any ALLOW applies, one must match).
  const portLevel = opts.policies.filter((p) => p.routes === undefined);
  const base = setsOf(portLevel);
  const byRoute = new Map<string, PolicySets>();
  for (const key of new Set(opts.policies.flatMap((p) => p.routes ?? []))) {
    byRoute.set(key, setsOf([...portLevel, ...opts.policies.filter((p) => p.routes?.includes(key))]));
  }
  const routeOf = byRoute.size > 0 ? opts.routeOf : undefined;
  if (!routeOf && base.enforced.deny.length + base.enforced.allow.length === 0 && !base.hasShadow) return undefined;
  const denyReplies = new Map<string, Respond>();
  const replyFor = (policy: string): Respond => {
    let r = denyReplies.get(policy);
    if (!r) {
      r = respond({ status: 403, body: RBAC_DENIED_BODY, details: `rbac_access_denied_matched_policy[${policy}]` });
      denyReplies.set(policy, r);
    }
    return r;
  };
  // Built at config time so the request path only looks them up.
  for (const sets of [base, ...byRoute.values()]) for (const p of sets.enforced.deny) for (const n of p.ruleNames) replyFor(n);
  replyFor('none');
  const stats = opts.stats ?? new AuthzStats();
  const onShadow = opts.onShadow;

  const instance: StreamFilter = Object.freeze({
    onRequestHeaders(ctx: RequestContext): HookResult {
      const a = new RequestAttributes(ctx);
      const route = routeOf?.(ctx);
      const sets = route === undefined ? base : (byRoute.get(route) ?? base);
      if (sets.hasShadow) evaluateShadow(a, sets.shadow, sets.audit, stats, onShadow);
      const denied = decide(a, sets.enforced);
      if (denied === undefined) {
        stats.allowed++;
        return CONTINUE;
      }
      stats.denied++;
      return replyFor(denied);
    },
  });
  return {
    name: AUTHZ_FILTER_NAME,
    phase: 'AUTHZ',
    // Stateless per stream: one shared instance.
    create: () => instance,
  };
}

function split(policies: readonly AuthzPolicy[], compile: (p: AuthzPolicy) => CompiledPolicy): CompiledSet {
  const deny: CompiledPolicy[] = [];
  const allow: CompiledPolicy[] = [];
  for (const p of policies) {
    switch (p.action) {
      case 'DENY':
      case 'CUSTOM':
        deny.push(compile(p));
        break;
      case 'ALLOW':
        allow.push(compile(p));
        break;
      case 'AUDIT':
        break;
    }
  }
  return { deny, allow };
}

/** The denying rule's name (`none` when no ALLOW matched), or `undefined` when allowed. */
export function decide(a: RequestAttributes, set: CompiledSet): string | undefined {
  for (const p of set.deny) {
    const i = p.match(a);
    if (i >= 0) return p.ruleNames[i] ?? 'none';
  }
  if (set.allow.length === 0) return undefined;
  for (const p of set.allow) if (p.match(a) >= 0) return undefined;
  return 'none';
}

function evaluateShadow(
  a: RequestAttributes,
  shadow: CompiledSet,
  audit: readonly CompiledPolicy[],
  stats: AuthzStats,
  onShadow: ((d: ShadowDecision) => void) | undefined,
): void {
  const requestId = a.ctx.requestId;
  if (shadow.deny.length + shadow.allow.length > 0) {
    const d = decide(a, shadow);
    if (d === undefined) stats.shadowAllowed++;
    else stats.shadowDenied++;
    onShadow?.({ kind: 'dry-run', result: d === undefined ? 'allowed' : 'denied', policy: d ?? 'none', requestId });
  }
  for (const p of audit) {
    const i = p.match(a);
    if (i < 0) continue;
    stats.audited++;
    onShadow?.({ kind: 'audit', result: 'audited', policy: p.ruleNames[i] ?? 'none', requestId });
  }
}
