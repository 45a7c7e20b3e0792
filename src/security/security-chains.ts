/**
 * The waypoint's security filters per service port, compiled once per mesh view (snapshot) and
 * reused by every request of that view: AuthorizationPolicy CUSTOM → `ext_authz` (phase
 * CUSTOM_AUTHZ), RequestAuthentication → `jwt_authn` (phase JWT_AUTHN), AuthorizationPolicy →
 * `rbac` (phase AUTHZ). The chain orders them by `src/filter/phases.ts`.
 *
 * Attachment, as Istio waypoints read `targetRefs`: a policy applies to a request through waypoint
 * W for service S when it targets the Gateway W, the Service S, or (from the root namespace) the
 * GatewayClass `istio-waypoint`. Our extension: a policy attached to an HTTPRoute applies to the
 * requests that route decides (the authz filter asks the port's route table per request).
 *
 * JWKS caches and decision counters outlive snapshots (one {@link SecurityChains} per waypoint).
 */
import type { ServiceIR, Snapshot, WaypointIR, WaypointRef } from '../config/ir.js';
import type { L7PolicyIR, PolicyTargetIR } from '../config/ir-security.js';
import type { RouteParentIR } from '../config/ir-routes.js';
import type { AuthzPolicy } from '../filter/authz-config.js';
import type { FilterFactory, RequestContext } from '../filter/api.js';
import { FilterChain, FilterErrorCounter } from '../filter/chain.js';
import type { FilterErrorReporter } from '../filter/chain.js';
import { cidrContains } from '../net/cidr.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import { ExtAuthzRuntime } from './ext-authz-runtime.js';
import type { FilterChainProvider } from '../waypoint/listener.js';
import { createXfccFactory } from '../../filters/xfcc/xfcc-filter.js';
import type { ShadowDecision } from '../../filters/authz/authz-filter.js';
import { AuthzStats, createAuthzFactory } from '../../filters/authz/authz-filter.js';
import type { JwksCacheOptions } from '../../filters/jwt-authn/jwks-cache.js';
import { JwksCache } from '../../filters/jwt-authn/jwks-cache.js';
import { JwtAuthnStats, createJwtAuthnFactory } from '../../filters/jwt-authn/jwt-authn-filter.js';

export const WAYPOINT_GATEWAY_CLASS = 'istio-waypoint';

export interface SecurityChainsOptions {
  readonly jwks?: JwksCacheOptions;
  readonly errors?: FilterErrorReporter;
  /** Dry-run and AUDIT outcomes (default: one JSON line on stderr per outcome). */
  readonly onShadow?: (d: ShadowDecision) => void;
  /** Filters the port's routes need in its chain (the CORS filter for `corsPolicy`); sorted in by phase. */
  readonly routeFilters?: (view: MeshView, target: ServiceTarget) => readonly FilterFactory[];
  /** The waypoint these chains run in: Gateway-attached policies are its own, also as a canary. */
  readonly self?: WaypointRef;
  /**
   * The HTTPRoute (`namespace/name`) that routes a request on a port, for AuthorizationPolicies
   * attached to HTTPRoutes; without it such policies never apply.
   */
  readonly routeOf?: (view: MeshView, target: ServiceTarget) => (ctx: RequestContext) => string | undefined;
}

export class SecurityChains {
  readonly jwks: JwksCache;
  readonly authzStats = new AuthzStats();
  readonly jwtStats = new JwtAuthnStats();
  /** AuthorizationPolicy CUSTOM: check clients and `ext_authz` counters. */
  readonly extAuthz = new ExtAuthzRuntime();
  private readonly errors: FilterErrorReporter;
  private readonly onShadow: (d: ShadowDecision) => void;
  private readonly routeFilters: ((view: MeshView, target: ServiceTarget) => readonly FilterFactory[]) | undefined;
  /** Per view: `ns/name:port` → chain. A WeakMap so old views (and their chains) are collected. */
  private readonly perView = new WeakMap<MeshView, Map<string, FilterChain>>();

  constructor(opts: SecurityChainsOptions = {}) {
    this.jwks = new JwksCache(opts.jwks);
    this.errors = opts.errors ?? new FilterErrorCounter();
    this.onShadow = opts.onShadow ?? ((d) => process.stderr.write(`${JSON.stringify({ authz: d })}\n`));
    this.routeFilters = opts.routeFilters;
    this.self = opts.self;
    this.routeOf = opts.routeOf;
  }

  private readonly routeOf: SecurityChainsOptions['routeOf'];

  private readonly self: WaypointRef | undefined;

  /** The {@link FilterChainProvider} to give the Waypoint. */
  readonly provider: FilterChainProvider = (view, target) => this.chainFor(view, target);

  chainFor(view: MeshView, target: ServiceTarget): FilterChain {
    let chains = this.perView.get(view);
    if (!chains) this.perView.set(view, (chains = new Map<string, FilterChain>()));
    const key = `${target.service.namespace}/${target.service.name}:${target.port.port}`;
    let chain = chains.get(key);
    if (!chain) {
      const factories = this.factoriesFor(view, target);
      chain = factories.length === 0 ? FilterChain.EMPTY : new FilterChain(factories, this.errors);
      chains.set(key, chain);
    }
    return chain;
  }

  /** The security filter factories of one service port (exported for composition with other filters). */
  factoriesFor(view: MeshView, target: ServiceTarget): FilterFactory[] {
    const wp = view.servingWaypoint(target.service, this.self);
    const snapshot = view.snapshot;
    const out: FilterFactory[] = [];
    // Istio 1.30 opt-in (Gateway annotation): the client's mesh identity to the app in XFCC.
    if (wp?.xfccClientIdentity) out.push(createXfccFactory(wp.identity));
    const authns = (snapshot.requestAuthns ?? []).filter((p) => appliesTo(p, snapshot, wp, target.service));
    const jwt = createJwtAuthnFactory({ providers: authns.flatMap((a) => a.jwtRules), cache: this.jwks, stats: this.jwtStats });
    if (jwt) out.push(jwt);
    const applied = (snapshot.l7Policies ?? []).filter((p) => appliesTo(p, snapshot, wp, target.service));
    const custom = this.extAuthz.split(view, applied);
    if (custom.filter) out.push(custom.filter);
    // Attached only to HTTPRoutes of this port: scoped to the requests those routes decide.
    const scoped = this.routeOf ? routeScoped(snapshot, wp, target.service, applied) : [];
    const policies = scoped.length > 0 ? [...custom.rbacPolicies, ...scoped] : custom.rbacPolicies;
    const routeOf = scoped.length > 0 ? this.routeOf?.(view, target) : undefined;
    const authz = createAuthzFactory({ policies, ipInCidr: cidrContains, stats: this.authzStats, onShadow: this.onShadow, ...(routeOf ? { routeOf } : {}) });
    if (authz) out.push(authz);
    if (this.routeFilters) out.push(...this.routeFilters(view, target));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.jwks.close(), this.extAuthz.close()]);
  }
}

/**
 * The policies attached to HTTPRoutes that may route requests for `service` here (a parent is the
 * Service or the serving waypoint) and not already applied to the whole port, each limited to
 * those routes.
 */
function routeScoped(snapshot: Snapshot, wp: WaypointIR | undefined, service: ServiceIR, applied: readonly L7PolicyIR[]): AuthzPolicy[] {
  const out: AuthzPolicy[] = [];
  for (const p of snapshot.l7Policies ?? []) {
    if (p.routeTargets === undefined || applied.includes(p)) continue;
    const routes = p.routeTargets
      .filter((t) => (snapshot.httpRoutes ?? []).some((r) => r.source === 'HTTPRoute' && r.namespace === t.namespace && r.name === t.name && r.parents.some((x) => parentIs(x, wp, service))))
      .map((t) => `${t.namespace}/${t.name}`);
    if (routes.length > 0) out.push({ ...p, routes });
  }
  return out;
}

function parentIs(x: RouteParentIR, wp: WaypointIR | undefined, service: ServiceIR): boolean {
  if (x.kind === 'Service') return x.namespace === service.namespace && x.name === service.name;
  return wp !== undefined && x.namespace === wp.namespace && x.name === wp.name;
}

/** True when an object attached by targetRefs (policy, WasmPlugin) applies to `service` at waypoint `wp`. */
export function appliesTo(p: { readonly targets: readonly PolicyTargetIR[]; readonly namespace: string }, snapshot: Snapshot, wp: WaypointIR | undefined, service: ServiceIR): boolean {
  return p.targets.some((t) => targets(t, p.namespace, snapshot, wp, service));
}

function targets(t: PolicyTargetIR, policyNs: string, snapshot: Snapshot, wp: WaypointIR | undefined, service: ServiceIR): boolean {
  switch (t.kind) {
    case 'Gateway':
      return wp !== undefined && t.namespace === wp.namespace && t.name === wp.name;
    case 'Service':
      return t.namespace === service.namespace && t.name === service.name;
    case 'GatewayClass':
      return t.name === WAYPOINT_GATEWAY_CLASS && policyNs === snapshot.mesh.rootNamespace && wp !== undefined;
  }
}
