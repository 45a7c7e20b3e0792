/**
 * The route step of an exchange, after the request-path filters: which route and backend the
 * request takes (or the local reply it gets instead), the route's edits applied to the request
 * before anything goes upstream or to a mirror, and the body the upstream reads.
 */
import type { Readable } from 'node:stream';
import type { LocalReply, Respond } from '../filter/api.js';
import type { ChainRun } from '../filter/chain.js';
import type { HttpRequestContext } from '../filter/request-context.js';
import type { RequestSpan, WaypointTracer } from '../telemetry/waypoint-tracer.js';
import type { DownstreamExchange } from './downstream-exchange.js';
import { FilteredRequestBody } from './filtered-body.js';
import { failureReply } from './local-reply.js';
import type { RequestTrailers } from './request-trailers.js';
import type { RouteBackend, RouteDecision, RouteTable } from './router.js';
import { applyHeaderMutation, selectBackend } from './router.js';

/** Where the request goes, or what answers it instead. */
export type RouteOutcome = { readonly decision: RouteDecision; readonly backend: RouteBackend; readonly reply?: undefined } | { readonly reply: LocalReply };

/**
 * Matches the request and picks a backend; on success, the route's rewrite and header mutations
 * are applied and the trace context injected (after matching, which saw the original request).
 */
export function routeRequest(ctx: HttpRequestContext, routes: RouteTable, random: () => number, tracer: WaypointTracer | undefined, span: RequestSpan | undefined): RouteOutcome {
  const decision = routes.routeHttp(ctx);
  if (decision?.respond) {
    // Redirect, direct response, or a rule without usable backends (the spec's 500).
    ctx.streamInfo.routeName = decision.name;
    return { reply: decision.respond.reply(ctx) };
  }
  const backend = decision ? selectBackend(decision, random) : undefined;
  if (!decision || !backend) return { reply: failureReply('NO_ROUTE') };
  const info = ctx.streamInfo;
  info.routeName = decision.name;
  info.upstreamCluster = backend.cluster;
  if (backend.reply) return { reply: backend.reply };
  decision.rewrite?.apply(ctx);
  if (decision.requestHeaders) applyHeaderMutation(ctx.headers, decision.requestHeaders);
  if (backend.requestHeaders) applyHeaderMutation(ctx.headers, backend.requestHeaders);
  // The upstream (and a mirror) sees the waypoint's span as its parent.
  if (span) tracer?.inject(ctx.headers, span);
  return { decision, backend };
}

/**
 * The body the upstream reads: the downstream body as it is unless a filter reads body chunks or
 * trailers (then through their hooks), and unless ext_authz read some ahead (then replayed from
 * its buffer first). No filter that leaves the body alone costs anything per chunk.
 */
export function upstreamBody(
  ctx: HttpRequestContext,
  down: DownstreamExchange,
  run: ChainRun | undefined,
  trailers: RequestTrailers,
  onBodyReply: (reply: Respond) => void,
): Readable {
  const src = ctx.body?.replay() ?? (down.body as Readable);
  const filtering = run && (run.wantsRequestBody || run.wantsRequestTrailers) ? run : undefined;
  return filtering ? new FilteredRequestBody(src, filtering, onBodyReply, trailers) : src;
}
