/**
 * The Gateway API's precedence among the matches of every route attached to one parent, as Istio
 * orders them for Envoy (`sortHTTPRoutes` in its gateway conversion):
 *
 * 1. path kind: `Exact` > `PathPrefix` > `RegularExpression` (regex is implementation-specific;
 *    Istio ranks it last), then the longer path value;
 * 2. a method match over none;
 * 3. more header matches;
 * 4. more query param matches;
 * 5. then the routes' order: oldest `creationTimestamp`, then `namespace/name` alphabetically;
 *    then rule order, then match order within the rule (a stable sort keeps these).
 */
import type { HttpRouteIR, RouteMatchIR } from '../config/ir-routes.js';

function pathRank(m: RouteMatchIR): number {
  switch (m.path?.kind) {
    case 'exact':
      return 3;
    case 'prefix':
    case 'rawPrefix':
      return 2;
    case 'regex':
      return 1;
    case undefined:
      return 0;
  }
}

function pathLength(m: RouteMatchIR): number {
  const p = m.path;
  if (!p) return 0;
  return p.kind === 'regex' ? p.regex.source.length : p.value.length;
}

/** Negative when `a` takes precedence over `b`; 0 when the spec leaves them to route order. */
export function compareMatches(a: RouteMatchIR, b: RouteMatchIR): number {
  const r = pathRank(b) - pathRank(a);
  if (r !== 0) return r;
  const l = pathLength(b) - pathLength(a);
  if (l !== 0) return l;
  const m = (b.method !== undefined ? 1 : 0) - (a.method !== undefined ? 1 : 0);
  if (m !== 0) return m;
  const h = b.headers.length - a.headers.length;
  if (h !== 0) return h;
  return b.queryParams.length - a.queryParams.length;
}

/** Oldest first, then `namespace/name`: the spec's tie-break between routes. */
export function compareRoutes(a: HttpRouteIR, b: HttpRouteIR): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
