/**
 * `envoy.filters.http.cors` (phase CORS) for the policies routes carry (VirtualService
 * `corsPolicy`). Envoy's semantics (source/extensions/filters/http/cors/cors_filter.cc):
 *
 * - a request without `Origin`, or on a route without a policy, is left alone;
 * - an origin the policy does not allow is left alone too: no CORS headers, and a preflight is
 *   forwarded to the upstream like any request (Envoy's default `forward_not_matching_preflights`);
 * - a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is answered
 *   here: 200 with `access-control-allow-origin` (the origin), `-allow-credentials: true` when
 *   allowed, `-allow-methods`, `-allow-headers`, `-max-age` when configured;
 * - other requests from an allowed origin go on, and their response (upstream or local) gets
 *   `access-control-allow-origin`, `-allow-credentials` and `-expose-headers`.
 *
 * The route decides the policy but is chosen after the filters run, so the filter asks a
 * {@link CorsPolicyLookup} (the service port's compiled route table, matching the same request)
 * — only for requests that carry `Origin`, so other requests never pay for a second match.
 */
import type { FilterFactory, HookResult, RequestContext, ResponseContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';

export const CORS_FILTER_NAME = 'envoy.filters.http.cors';

/** A route's compiled CORS policy: header values joined at config time. */
export interface CorsPolicy {
  originAllowed(origin: string): boolean;
  /** Comma-joined; `''` = header not sent. */
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  /** Seconds as text; `''` = not sent. */
  readonly maxAge: string;
  readonly allowCredentials: boolean;
}

/** The CORS policy of the route a request matches, if any. */
export type CorsPolicyLookup = (ctx: RequestContext) => CorsPolicy | undefined;

function preflightHeaders(policy: CorsPolicy, origin: string): Record<string, string> {
  const h: Record<string, string> = { 'access-control-allow-origin': origin };
  if (policy.allowCredentials) h['access-control-allow-credentials'] = 'true';
  if (policy.allowMethods !== '') h['access-control-allow-methods'] = policy.allowMethods;
  if (policy.allowHeaders !== '') h['access-control-allow-headers'] = policy.allowHeaders;
  if (policy.maxAge !== '') h['access-control-max-age'] = policy.maxAge;
  return h;
}

class CorsStreamFilter implements StreamFilter {
  /** Set when the request is a CORS request from an allowed origin. */
  private policy: CorsPolicy | undefined;
  private origin = '';

  constructor(private readonly lookup: CorsPolicyLookup) {}

  onRequestHeaders(ctx: RequestContext): HookResult {
    const origin = ctx.headers.get('origin');
    if (origin === undefined || origin === '') return CONTINUE;
    const policy = this.lookup(ctx);
    if (!policy || !policy.originAllowed(origin)) return CONTINUE;
    this.policy = policy;
    this.origin = origin;
    if (ctx.method !== 'OPTIONS' || ctx.headers.get('access-control-request-method') === undefined) return CONTINUE;
    return respond({ status: 200, headers: preflightHeaders(policy, origin), details: 'cors_preflight' });
  }

  onResponseHeaders(ctx: RequestContext, response: ResponseContext): HookResult {
    const policy = this.policy;
    // A preflight answered here already carries its headers.
    if (!policy || (ctx.method === 'OPTIONS' && response.headers.get('access-control-allow-origin') !== undefined)) return CONTINUE;
    response.headers.set('access-control-allow-origin', this.origin);
    if (policy.allowCredentials) response.headers.set('access-control-allow-credentials', 'true');
    if (policy.exposeHeaders !== '') response.headers.set('access-control-expose-headers', policy.exposeHeaders);
    return CONTINUE;
  }
}

/** The CORS filter of one service port; the caller only creates it when some route has a policy. */
export function createCorsFactory(lookup: CorsPolicyLookup): FilterFactory {
  return Object.freeze({
    name: CORS_FILTER_NAME,
    phase: 'CORS' as const,
    create: (): StreamFilter => new CorsStreamFilter(lookup),
  });
}
