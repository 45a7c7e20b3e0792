/**
 * `envoy.filters.http.ext_authz` as Istio configures it for AuthorizationPolicy action CUSTOM: the
 * first filter of the waypoint chain (phase CUSTOM_AUTHZ, before JWT authn and RBAC). A request
 * that matches a rule of a CUSTOM policy is sent to the policy's extension provider; one that
 * matches none skips the check (Istio's `filter_enabled_metadata`). A request the authorizer
 * allows still has to pass DENY and ALLOW policies in the RBAC filter after it.
 *
 * Outcomes (Envoy's ext_authz filter):
 * - allowed: the authorizer's headers are applied to the upstream request; counted `ok`;
 * - denied: the authorizer's status (default 403), headers and body go downstream, response flag
 *   `UAEX`, details `ext_authz_denied`; counted `denied`;
 * - error (unreachable, timeout, HTTP 5xx, gRPC failure): with `failOpen` the request goes on
 *   (counted `failure_mode_allowed`), else `statusOnError` (default 403) with `UAEX`, details
 *   `ext_authz_error`; counted `error` either way.
 * With `includeRequestBodyInCheck` the body is read before the check (and still forwarded): a body
 * over `maxRequestBytes` gets 413 unless `allowPartialMessage`.
 */
import type { FilterFactory, FilterResult, HookResult, RequestContext, Respond, ResponseContext, StreamFilter } from '../../src/filter/api.js';
import type { HeaderMap } from '../../src/filter/header-map.js';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { AuthzPolicy } from '../../src/filter/authz-config.js';
import { PAYLOAD_TOO_LARGE } from '../../src/filter/buffer-limit.js';
import type { ExtAuthzProvider } from '../../src/filter/ext-authz-config.js';
import type { CompiledPolicy, IpInCidr } from '../authz/policy-matcher.js';
import { compilePolicy } from '../authz/policy-matcher.js';
import { RequestAttributes } from '../authz/request-attributes.js';
import type { BufferedRequestBody } from '../../src/filter/api.js';
import type { CheckClient, CheckDecision, HeaderToAdd } from './check-client.js';
import { mutateQuery } from './query-mutation.js';

export const EXT_AUTHZ_FILTER_NAME = 'envoy.filters.http.ext_authz';
/** Envoy's response flag for a request the external authorizer did not allow. */
export const UAEX = 'UAEX';

/** Envoy's `http.<prefix>.ext_authz.*` counters, shared by every chain of one waypoint. */
export class ExtAuthzStats {
  ok = 0;
  denied = 0;
  error = 0;
  failureModeAllowed = 0;
}

export interface ExtAuthzFilterOptions {
  readonly provider: ExtAuthzProvider;
  /** The enforced CUSTOM policies naming `provider` that apply to this service port. */
  readonly policies: readonly AuthzPolicy[];
  readonly client: CheckClient;
  /** `host:port` endpoints of the authorization service (round robin); empty = every check errors. */
  readonly addresses: readonly string[];
  readonly ipInCidr: IpInCidr;
  readonly stats?: ExtAuthzStats;
}

export function createExtAuthzFactory(opts: ExtAuthzFilterOptions): FilterFactory | undefined {
  if (opts.policies.length === 0) return undefined;
  const compiled = opts.policies.map((p) => compilePolicy(p, opts.ipInCidr));
  const check = new Checker(opts, opts.stats ?? new ExtAuthzStats());
  return { name: EXT_AUTHZ_FILTER_NAME, phase: 'CUSTOM_AUTHZ', create: () => new ExtAuthzStream(compiled, check) };
}

/** Per stream: the authorizer's `response_headers_to_add` wait here for the response. */
class ExtAuthzStream implements StreamFilter {
  private responseHeaders: readonly HeaderToAdd[] | undefined;

  constructor(
    private readonly compiled: readonly CompiledPolicy[],
    private readonly check: Checker,
  ) {}

  onRequestHeaders(ctx: RequestContext, endOfStream: boolean): HookResult {
    if (!matchesAny(this.compiled, new RequestAttributes(ctx))) return CONTINUE;
    return this.check.run(ctx, endOfStream, (h) => (this.responseHeaders = h));
  }

  onResponseHeaders(_ctx: RequestContext, response: ResponseContext): HookResult {
    if (this.responseHeaders) applyHeaders(response.headers, this.responseHeaders);
    return CONTINUE;
  }
}

/** Envoy's order: set/append/add-if-absent/overwrite-if-exists, as each header says. */
function applyHeaders(target: HeaderMap, headers: readonly HeaderToAdd[]): void {
  for (const h of headers) {
    if (h.append) target.append(h.name, h.value);
    else if (h.only === 'absent') {
      if (!target.has(h.name)) target.set(h.name, h.value);
    } else if (h.only === 'present') {
      if (target.has(h.name)) target.set(h.name, h.value);
    } else target.set(h.name, h.value);
  }
}

function matchesAny(policies: readonly CompiledPolicy[], a: RequestAttributes): boolean {
  for (const p of policies) if (p.match(a) >= 0) return true;
  return false;
}

class Checker {
  private next = 0;
  private readonly errorReply: Respond;
  private readonly tooLarge: Respond;

  constructor(
    private readonly opts: ExtAuthzFilterOptions,
    private readonly stats: ExtAuthzStats,
  ) {
    this.errorReply = respond({ status: opts.provider.statusOnError, responseFlag: UAEX, details: 'ext_authz_error' });
    this.tooLarge = PAYLOAD_TOO_LARGE;
  }

  async run(ctx: RequestContext, endOfStream: boolean, onResponseHeaders: (h: readonly HeaderToAdd[]) => void): Promise<FilterResult> {
    const settings = this.opts.provider.body;
    let body: BufferedRequestBody | undefined;
    if (settings && !endOfStream && ctx.body) {
      const declared = Number(ctx.headers.get('content-length') ?? 0);
      if (!settings.allowPartialMessage && declared > settings.maxRequestBytes) return this.tooLarge;
      body = await ctx.body.buffer(settings.maxRequestBytes);
      if (!body.complete && !settings.allowPartialMessage) return this.tooLarge;
    }
    const addresses = this.opts.addresses;
    const decision: CheckDecision =
      addresses.length === 0
        ? { kind: 'error', reason: `no endpoints for ${this.opts.provider.service}:${this.opts.provider.port}` }
        : await this.opts.client.check({ ctx, address: addresses[this.next++ % addresses.length] as string, ...(body ? { body } : {}) });
    return this.apply(ctx, decision, onResponseHeaders);
  }

  private apply(ctx: RequestContext, d: CheckDecision, onResponseHeaders: (h: readonly HeaderToAdd[]) => void): FilterResult {
    switch (d.kind) {
      case 'ok':
        this.stats.ok++;
        // Envoy's order: headers to set/append first, then removals, then the query.
        applyHeaders(ctx.headers, d.headers);
        for (const name of d.remove) if (name !== 'host' && !name.startsWith(':')) ctx.headers.delete(name);
        if (d.queryToSet?.length || d.queryToRemove?.length) ctx.path = mutateQuery(ctx.path, d.queryToSet ?? [], d.queryToRemove ?? []);
        if (d.responseHeaders && d.responseHeaders.length > 0) onResponseHeaders(d.responseHeaders);
        return CONTINUE;
      case 'denied': {
        this.stats.denied++;
        const headers: Record<string, string> = {};
        for (const [n, v] of d.headers) headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
        return respond({ status: d.status, body: d.body, headers, responseFlag: UAEX, details: 'ext_authz_denied' });
      }
      case 'error':
        this.stats.error++;
        if (this.opts.provider.failOpen) {
          this.stats.failureModeAllowed++;
          return CONTINUE;
        }
        return this.errorReply;
    }
  }
}
