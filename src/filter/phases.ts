/**
 * THE order of the waypoint's L7 filter chain, written once (house rule 2). It follows Istio's
 * waypoint HTTP filter list (istio/istio pilot/pkg/networking/core/listener_waypoint.go
 * `buildWaypointInboundHTTPFilters`), so a mesh moved from Envoy waypoints behaves the same:
 * the same filter sees a request first, and the same filter's local reply wins.
 *
 * Filters declare a phase; the chain builder sorts by phase index (stable, so filters of one
 * phase keep their configured order, like Wasm plugins ordered by `priority`).
 */

export const PHASE_ORDER = Object.freeze([
  {
    phase: 'XFCC',
    why: 'x-forwarded-client-cert from the mTLS peer (Gateway annotation ambient.istio.io/xfcc-include-client-identity): first, as Istio inserts it before ext_authz and RBAC, so every later filter and an external authorizer see the synthesized value, never a client-supplied one.',
  },
  {
    phase: 'CUSTOM_AUTHZ',
    why: 'ext_authz (AuthorizationPolicy action CUSTOM) runs first: an external decision overrides everything local, and a denied request must not cost JWT validation or Wasm work.',
  },
  {
    phase: 'WASM_AUTHN',
    why: 'Wasm plugins in phase AUTHN establish identity (custom credentials) before the built-in JWT filter, as Istio inserts them ahead of jwt_authn.',
  },
  {
    phase: 'JWT_AUTHN',
    why: 'RequestAuthentication validates JWTs and publishes claims/request principal, which authorization below matches on.',
  },
  {
    phase: 'WASM_AUTHZ',
    why: 'Wasm AUTHZ plugins see the authenticated principal and decide before the built-in RBAC.',
  },
  {
    phase: 'AUTHZ',
    why: 'AuthorizationPolicy (ALLOW/DENY/AUDIT) with L7 attributes: after authentication so principals and claims are known, before any fault or routing so a denied request never reaches an upstream.',
  },
  {
    phase: 'FAULT',
    why: 'Fault injection (delay/abort) comes after authorization (an unauthorized caller cannot trigger faults) and must precede the router, as Envoy requires.',
  },
  {
    phase: 'CORS',
    why: 'CORS answers preflights and adds response headers; after fault, as in Istio, so injected aborts are still CORS-decorated on the way back.',
  },
  {
    phase: 'WASM_STATS',
    why: 'Wasm STATS plugins observe requests that passed policy, and see every response on the way back.',
  },
  {
    phase: 'WASM_UNSPECIFIED',
    why: 'Wasm plugins without a phase go last before stats, where Istio puts them (closest to the router).',
  },
  {
    phase: 'STATS',
    why: 'istio.stats records the request as routed: last before the router so it sees final headers and, on the response path, every response including local replies of earlier filters.',
  },
  {
    phase: 'ROUTER',
    why: 'Terminal: not a filter. Picks the route and backend, balances, and forwards upstream (src/waypoint/router.ts, src/upstream/).',
  },
] as const);

export type PhaseName = (typeof PHASE_ORDER)[number]['phase'];

/** A phase a filter may register in (the router is terminal, not a filter). */
export type FilterPhase = Exclude<PhaseName, 'ROUTER'>;

const INDEX: ReadonlyMap<PhaseName, number> = new Map(PHASE_ORDER.map((p, i) => [p.phase, i]));

/** The position of a phase in the chain (0 runs first). */
export function phaseIndex(phase: PhaseName): number {
  // Every PhaseName is in the table by construction.
  return INDEX.get(phase) ?? PHASE_ORDER.length;
}

/** Sorts items by phase, keeping the given order inside one phase. Config-time only. */
export function sortByPhase<T extends { readonly phase: FilterPhase }>(items: readonly T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => phaseIndex(a.item.phase) - phaseIndex(b.item.phase) || a.i - b.i)
    .map((e) => e.item);
}
