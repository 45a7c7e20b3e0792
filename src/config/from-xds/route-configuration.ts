/**
 * `envoy.config.route.v3.RouteConfiguration` → one IR route per virtual host. Envoy routes are
 * first-match in order, which is the IR's VirtualService ordering, so they are emitted with that
 * source. A virtual host attaches to the Services its `domains` name (`name.namespace.svc...`,
 * optionally `:port`, as istiod writes them); IP and wildcard domains add nothing.
 *
 * Per-route `typed_per_filter_config` for `envoy.filters.http.fault` and `envoy.filters.http.cors`
 * become the rule's fault and CORS policy; the listener decides whether those filters run
 * (`envoy-config.ts`). Anything the IR cannot express is rejected with its field path.
 */
import type {
  BackendRefIR,
  CorsPolicyIR,
  HeaderMutationIR,
  PathMatchIR,
  RedirectIR,
  RewriteIR,
  RouteFaultIR,
  RouteFilterIR,
  RouteMatchIR,
  RouteParentIR,
  RouteRetryIR,
  RouteRuleIR,
} from '../ir-routes.js';
import { clusterRef } from './envoy-cluster-ref.js';
import { readFractionalPercent, readHeaderMatcher, readQueryMatcher, readRegex, readStringMatcher } from './envoy-matchers.js';
import type { XdsReader } from './xds-reader.js';
import { typeNameOf } from './xds-reader.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';

export interface VirtualHostDraft {
  readonly name: string;
  readonly parents: readonly RouteParentIR[];
  readonly rules: readonly RouteRuleIR[];
}

export interface RouteConfigurationDraft {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostDraft[];
}

export function translateRouteConfiguration(r: XdsReader): RouteConfigurationDraft {
  const name = r.requiredStr('name');
  r.onlyKnown(
    ['name', 'virtual_hosts', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'validate_clusters', 'internal_only_headers', 'ignore_port_in_host_matching', 'max_direct_response_body_size_bytes'],
    'RouteConfiguration',
  );
  const outer = readHeaderFilters(r);
  const virtualHosts = r.list('virtual_hosts').map((vh) => readVirtualHost(vh, outer));
  return { name, virtualHosts };
}

function readVirtualHost(r: XdsReader, outer: readonly RouteFilterIR[]): VirtualHostDraft {
  const name = r.requiredStr('name');
  r.onlyKnown(
    ['name', 'domains', 'routes', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'typed_per_filter_config', 'include_request_attempt_count', 'include_attempt_count_in_response', 'retry_policy'],
    'VirtualHost',
  );
  const domains = r.list('domains').map((d, i) => {
    if (typeof d.value !== 'string') r.fail('must be a string', ['domains', i]);
    return d.value;
  });
  if (domains.length === 0) r.fail('at least one domain is required', ['domains']);
  const parents = servicesOf(domains);
  if (parents.length === 0) r.fail(`no domain names a Service (name.namespace.svc.<domain>[:port]): ${domains.join(', ')}`, ['domains']);
  const vhostFilters = [...readHeaderFilters(r), ...outer];
  const vhostPerFilter = readPerFilter(r);
  const vhostRetry = r.optional('retry_policy');
  const rules = r.list('routes').map((route) => readRoute(route, vhostFilters, vhostPerFilter, vhostRetry));
  return { name, parents, rules };
}

/** `reviews.default.svc.cluster.local:9080` → Service default/reviews, port 9080. */
function servicesOf(domains: readonly string[]): RouteParentIR[] {
  const out = new Map<string, RouteParentIR>();
  for (const d of domains) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.[^:]*)?)?(:(\d+))?$/.exec(d.toLowerCase());
    if (!m) continue;
    const [name = '', namespace = ''] = [m[1], m[3]];
    const port = m[8] !== undefined ? Number(m[8]) : undefined;
    const key = `${namespace}/${name}:${port ?? ''}`;
    out.set(key, { kind: 'Service', namespace, name, ...(port !== undefined ? { port } : {}) });
  }
  // A Service named without a port covers every port: drop its port-specific duplicates.
  const whole = new Set([...out.values()].filter((p) => p.port === undefined).map((p) => `${p.namespace}/${p.name}`));
  return [...out.values()].filter((p) => p.port === undefined || !whole.has(`${p.namespace}/${p.name}`));
}

interface PerFilter {
  readonly fault?: RouteFaultIR;
  readonly cors?: CorsPolicyIR;
}

function readRoute(r: XdsReader, outer: readonly RouteFilterIR[], vhostPerFilter: PerFilter, vhostRetry: XdsReader | undefined): RouteRuleIR {
  r.onlyKnown(
    ['name', 'match', 'route', 'redirect', 'direct_response', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'typed_per_filter_config', 'decorator', 'metadata'],
    'Route',
  );
  const name = r.str('name');
  const match = readMatch(r.field('match'));
  const filters: RouteFilterIR[] = [...readHeaderFilters(r), ...outer];
  const perFilter = { ...vhostPerFilter, ...readPerFilter(r) };
  if (perFilter.cors) filters.push({ kind: 'cors', cors: perFilter.cors });
  let backends: BackendRefIR[] = [];
  let timeoutMs: number | undefined;
  let retry: RouteRetryIR | undefined;
  const action = ['route', 'redirect', 'direct_response'].filter((k) => r.has(k));
  if (action.length !== 1) r.fail('a route needs exactly one of route, redirect, direct_response');
  const ra = r.optional('route');
  if (ra) {
    ra.onlyKnown(
      ['cluster', 'weighted_clusters', 'timeout', 'retry_policy', 'prefix_rewrite', 'regex_rewrite', 'host_rewrite_literal', 'request_mirror_policies', 'cluster_not_found_response_code', 'max_stream_duration', 'auto_host_rewrite'],
      'RouteAction',
    );
    backends = readBackends(ra);
    // Envoy: `timeout` defaults to 15s; 0 disables it.
    const t = ra.durationMs('timeout') ?? 15_000;
    timeoutMs = t > 0 ? t : undefined;
    const rp = ra.optional('retry_policy') ?? vhostRetry;
    // Envoy retries only when a policy says so (unlike Istio's default of 2 for its own routes).
    retry = rp ? readRetry(rp) : { attempts: 0, retryOn: [], codes: [] };
    const rewrite = readRewrite(ra);
    if (rewrite) filters.push({ kind: 'rewrite', rewrite });
    for (const m of ra.list('request_mirror_policies')) {
      m.onlyKnown(['cluster', 'runtime_fraction'], 'RequestMirrorPolicy');
      const frac = m.optional('runtime_fraction')?.optional('default_value');
      filters.push({ kind: 'mirror', target: clusterRef(m.requiredStr('cluster')), percent: frac ? readFractionalPercent(frac) : 100 });
    }
  }
  const rd = r.optional('redirect');
  if (rd) filters.push({ kind: 'redirect', redirect: readRedirect(rd) });
  const dr: XdsReader | undefined = r.optional('direct_response');
  if (dr) {
    const given = dr.num('status');
    const status = given !== undefined && given >= 200 && given <= 599 ? given : dr.fail('must be in [200, 599]', ['status']);
    const body = dr.optional('body');
    if (body) body.onlyKnown(['inline_string'], 'DataSource');
    filters.push({ kind: 'directResponse', status, body: body?.str('inline_string') ?? '' });
  }
  return {
    ...(name ? { name } : {}),
    matches: [match],
    filters,
    backends,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(retry ? { retry } : {}),
    ...(perFilter.fault ? { fault: perFilter.fault } : {}),
  };
}

function readMatch(r: XdsReader): RouteMatchIR {
  r.onlyKnown(['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'case_sensitive', 'headers', 'query_parameters'], 'RouteMatch');
  const ignoreCase = r.bool('case_sensitive') === false;
  let path: PathMatchIR | undefined;
  const kinds = ['prefix', 'path', 'safe_regex', 'path_separated_prefix'].filter((k) => r.has(k));
  if (kinds.length !== 1) r.fail('a route match needs exactly one of prefix, path, safe_regex, path_separated_prefix');
  const prefix = r.str('prefix');
  if (prefix !== undefined) path = prefix === '/' || prefix === '' ? undefined : { kind: 'rawPrefix', value: prefix, ignoreCase };
  const exact = r.str('path');
  if (exact !== undefined) path = { kind: 'exact', value: exact, ignoreCase };
  const sep = r.str('path_separated_prefix');
  if (sep !== undefined) path = { kind: 'prefix', value: sep, ignoreCase };
  const re = r.optional('safe_regex');
  if (re) path = { kind: 'regex', regex: readRegex(re, ignoreCase) };
  const headers = r.list('headers').map(readHeaderMatcher);
  // Envoy matches `:method` as a header; the IR has a method field for the exact case.
  const methodIdx = headers.findIndex((h) => h.name === ':method' && h.match.kind === 'exact' && !h.invert);
  const methodMatch = methodIdx >= 0 ? headers.splice(methodIdx, 1)[0] : undefined;
  const method = methodMatch?.match.kind === 'exact' ? methodMatch.match.value.toUpperCase() : undefined;
  if (headers.some((h) => h.name.startsWith(':'))) r.fail('pseudo-header matches other than an exact :method are not supported', ['headers']);
  return {
    ...(path ? { path } : {}),
    ...(method ? { method } : {}),
    headers,
    queryParams: r.list('query_parameters').map(readQueryMatcher),
  };
}

function readBackends(r: XdsReader): BackendRefIR[] {
  const cluster = r.str('cluster');
  if (cluster !== undefined) return [{ target: clusterRef(cluster), weight: 1, filters: [] }];
  const wc = r.optional('weighted_clusters');
  if (!wc) return r.fail('a route action needs cluster or weighted_clusters');
  wc.onlyKnown(['clusters', 'total_weight'], 'WeightedCluster');
  const list = wc.list('clusters');
  if (list.length === 0) wc.fail('at least one cluster is required', ['clusters']);
  return list.map((c) => {
    c.onlyKnown(['name', 'weight', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'], 'ClusterWeight');
    return { target: clusterRef(c.requiredStr('name')), weight: c.num('weight') ?? 0, filters: readHeaderFilters(c) };
  });
}

function readRetry(r: XdsReader): RouteRetryIR {
  r.onlyKnown(['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_back_off', 'retry_host_predicate', 'host_selection_retry_max_attempts'], 'RetryPolicy');
  const perTry = r.durationMs('per_try_timeout');
  const backoff = r.optional('retry_back_off')?.durationMs('base_interval');
  return {
    // Envoy: num_retries defaults to 1.
    attempts: r.num('num_retries') ?? 1,
    retryOn: (r.str('retry_on') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    codes: r.list('retriable_status_codes').map((c, i) => {
      if (typeof c.value !== 'number') r.fail('must be a number', ['retriable_status_codes', i]);
      return c.value;
    }),
    ...(perTry !== undefined && perTry > 0 ? { perTryTimeoutMs: perTry } : {}),
    ...(backoff !== undefined ? { backoffMs: backoff } : {}),
  };
}

function readRewrite(r: XdsReader): RewriteIR | undefined {
  const prefix = r.str('prefix_rewrite');
  const re = r.optional('regex_rewrite');
  const host = r.str('host_rewrite_literal');
  if (prefix !== undefined && re) r.fail('prefix_rewrite and regex_rewrite are exclusive');
  if (prefix === undefined && !re && host === undefined) return undefined;
  let path: RewriteIR['path'];
  if (prefix !== undefined) path = { kind: 'rawPrefix', value: prefix };
  if (re) path = { kind: 'regex', regex: readRegex(re.field('pattern'), false), substitution: re.str('substitution') ?? '' };
  return { ...(host !== undefined ? { hostname: host } : {}), ...(path ? { path } : {}) };
}

const REDIRECT_CODES: Readonly<Record<string, number>> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function readRedirect(r: XdsReader): RedirectIR {
  r.onlyKnown(['https_redirect', 'scheme_redirect', 'host_redirect', 'port_redirect', 'path_redirect', 'prefix_rewrite', 'response_code', 'strip_query'], 'RedirectAction');
  const code = r.str('response_code') ?? 'MOVED_PERMANENTLY';
  const statusCode = REDIRECT_CODES[code] ?? r.fail(`unknown response_code ${code}`, ['response_code']);
  const scheme = r.bool('https_redirect') ? 'https' : r.str('scheme_redirect');
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') r.fail('must be http or https', ['scheme_redirect']);
  const host = r.str('host_redirect');
  const port = r.num('port_redirect');
  const full = r.str('path_redirect');
  const prefix = r.str('prefix_rewrite');
  const path = full !== undefined ? { kind: 'full' as const, value: full } : prefix !== undefined ? { kind: 'rawPrefix' as const, value: prefix } : undefined;
  return { statusCode, ...(scheme ? { scheme } : {}), ...(host ? { hostname: host } : {}), ...(port ? { port } : {}), ...(path ? { path } : {}) };
}

/** `*_headers_to_add` / `*_headers_to_remove` of a route, virtual host or route configuration. */
function readHeaderFilters(r: XdsReader): RouteFilterIR[] {
  const out: RouteFilterIR[] = [];
  const req = readMutation(r, 'request_headers_to_add', 'request_headers_to_remove');
  if (req) out.push({ kind: 'requestHeaders', mutation: req });
  const res = readMutation(r, 'response_headers_to_add', 'response_headers_to_remove');
  if (res) out.push({ kind: 'responseHeaders', mutation: res });
  return out;
}

function readMutation(r: XdsReader, addKey: string, removeKey: string): HeaderMutationIR | undefined {
  const set: [string, string][] = [];
  const add: [string, string][] = [];
  for (const opt of r.list(addKey)) {
    opt.onlyKnown(['header', 'append', 'append_action', 'keep_empty_value'], 'HeaderValueOption');
    const h = opt.field('header');
    const pair: [string, string] = [h.requiredStr('key').toLowerCase(), h.str('value') ?? ''];
    const action = opt.str('append_action');
    // `append` (deprecated) defaults to true; `append_action` defaults to APPEND_IF_EXISTS_OR_ADD.
    const appends = action !== undefined ? action === 'APPEND_IF_EXISTS_OR_ADD' : (opt.bool('append') ?? true);
    if (action !== undefined && action !== 'APPEND_IF_EXISTS_OR_ADD' && action !== 'OVERWRITE_IF_EXISTS_OR_ADD') {
      opt.fail(`append_action ${action} is not supported`, ['append_action']);
    }
    (appends ? add : set).push(pair);
  }
  const remove = r.list(removeKey).map((x, i) => {
    if (typeof x.value !== 'string') r.fail('must be a string', [removeKey, i]);
    return x.value.toLowerCase();
  });
  return set.length + add.length + remove.length > 0 ? { set, add, remove } : undefined;
}

/** `typed_per_filter_config`: fault and CORS per route or virtual host. */
function readPerFilter(r: XdsReader): PerFilter {
  let out: PerFilter = {};
  for (const [name, cfg] of r.entries('typed_per_filter_config')) {
    const type = typeNameOf(cfg.typeUrl());
    if (name === FAULT_FILTER || type === 'envoy.extensions.filters.http.fault.v3.HTTPFault') out = { ...out, fault: readFault(cfg) };
    else if (name === CORS_FILTER || type === 'envoy.extensions.filters.http.cors.v3.CorsPolicy') out = { ...out, cors: readCors(cfg) };
    else cfg.fail(`per-route config for ${name} (${type}) is not supported`);
  }
  return out;
}

/** `envoy.extensions.filters.http.fault.v3.HTTPFault`. */
export function readFault(r: XdsReader): RouteFaultIR {
  r.onlyKnown(['delay', 'abort', 'max_active_faults'], 'HTTPFault');
  const d = r.optional('delay');
  const a = r.optional('abort');
  let delay: RouteFaultIR['delay'];
  if (d) {
    d.onlyKnown(['fixed_delay', 'percentage'], 'FaultDelay');
    const ms = d.durationMs('fixed_delay') ?? d.fail('fixed_delay is required (header_delay is not supported)');
    const p = d.optional('percentage');
    delay = { fixedDelayMs: ms, percent: p ? readFractionalPercent(p) : 100 };
  }
  let abort: RouteFaultIR['abort'];
  if (a) {
    a.onlyKnown(['http_status', 'grpc_status', 'percentage'], 'FaultAbort');
    const p = a.optional('percentage');
    const percent = p ? readFractionalPercent(p) : 100;
    const http = a.num('http_status');
    const grpc = a.num('grpc_status');
    if (http === undefined && grpc === undefined) a.fail('http_status or grpc_status is required (header_abort is not supported)');
    if (http !== undefined && (http < 200 || http >= 600)) a.fail('must be in [200, 600)', ['http_status']);
    abort = { ...(http !== undefined ? { httpStatus: http } : {}), ...(grpc !== undefined ? { grpcStatus: String(grpc) } : {}), percent };
  }
  return { ...(delay ? { delay } : {}), ...(abort ? { abort } : {}) };
}

/** `envoy.extensions.filters.http.cors.v3.CorsPolicy`. */
function readCors(r: XdsReader): CorsPolicyIR {
  r.onlyKnown(['allow_origin_string_match', 'allow_methods', 'allow_headers', 'expose_headers', 'max_age', 'allow_credentials', 'filter_enabled'], 'CorsPolicy');
  const csv = (k: string): string[] => (r.str(k) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const maxAge = r.str('max_age');
  if (maxAge !== undefined && !/^\d+$/.test(maxAge)) r.fail('must be a number of seconds', ['max_age']);
  return {
    allowOrigins: r.list('allow_origin_string_match').map(readStringMatcher),
    allowMethods: csv('allow_methods'),
    allowHeaders: csv('allow_headers'),
    exposeHeaders: csv('expose_headers'),
    ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge) } : {}),
    allowCredentials: r.bool('allow_credentials') ?? false,
  };
}
