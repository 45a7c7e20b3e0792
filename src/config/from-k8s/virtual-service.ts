/**
 * `networking.istio.io/v1 VirtualService` → {@link HttpRouteIR} (source `VirtualService`): its
 * `hosts` that name mesh Services become Service parents; each `http` route becomes a rule
 * matched in the order written (first match wins, unlike Gateway API precedence).
 *
 * Supported per route: `match`, `route` (destination host/subset/port, weight, per-destination
 * `headers`), `headers`, `rewrite` (`uri`, `authority`, `uriRegexRewrite`), `redirect`,
 * `directResponse`, `mirror`/`mirrorPercentage`/`mirrors`, `timeout`, `corsPolicy` (a `cors`
 * filter the CORS filter applies), `retries` (applied by the router, docs/resilience.md) and
 * `fault` (applied by the fault filter). `tcp` routes (match on `port`, weighted
 * destinations) become `tcpRules`; so do `tls` routes, one rule per `match` entry (its `port` and
 * required `sniHosts`, matched against the ClientHello's server name; TLS is not terminated).
 * A VirtualService bound to `gateways` without `mesh`
 * is for ingress gateways, not waypoints: skipped.
 */
import type {
  BackendRefIR,
  HttpRouteIR,
  PathModifierIR,
  RouteFaultIR,
  RouteFilterIR,
  RouteParentIR,
  RouteRetryIR,
  RouteRuleIR,
  ServiceRefIR,
  TcpRouteRuleIR,
  ValueMatchIR,
  CorsPolicyIR,
} from '../ir-routes.js';
import { checkRegex } from '../../routing/compile-regex.js';
import { readDuration } from './duration.js';
import { readCreatedAt } from './http-route.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { serviceOfHost } from './service-host.js';
import type { Translator } from './translator.js';
import { readVsHeaders } from './virtual-service-headers.js';
import { readStringMatch, readVsMatches } from './virtual-service-match.js';

export const ISTIO_NETWORKING_VERSIONS = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'];

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export const virtualServiceTranslator: Translator = {
  kind: 'VirtualService',
  apiVersions: ISTIO_NETWORKING_VERSIONS,
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const gateways = r.stringList(['spec', 'gateways']);
    if (gateways.length > 0 && !gateways.includes('mesh')) return undefined;
    const parents: RouteParentIR[] = [];
    r.stringList(['spec', 'hosts']).forEach((h, i) => {
      const s = serviceOfHost(h, namespace);
      if (s) parents.push({ kind: 'Service', namespace: s.namespace, name: s.name });
      else r.warn(['spec', 'hosts', i], 'UNSUPPORTED', `${JSON.stringify(h)} does not name a mesh Service; waypoints only route Services`);
    });
    if (!r.has(['spec', 'hosts'])) r.error(['spec', 'hosts'], 'FIELD_REQUIRED', 'is required');
    const tcpRules: TcpRouteRuleIR[] = [];
    r.list(['spec', 'tls']).forEach((_, i) => tcpRules.push(...readTlsRoute(r, ['spec', 'tls', i], namespace)));
    r.list(['spec', 'tcp']).forEach((_, i) => {
      const rule = readTcpRoute(r, ['spec', 'tcp', i], namespace);
      if (rule) tcpRules.push(rule);
    });
    const rules: RouteRuleIR[] = [];
    r.list(['spec', 'http']).forEach((_, i) => {
      const rule = readHttpRoute(r, ['spec', 'http', i], namespace);
      if (rule) rules.push(rule);
    });
    if (r.failed || parents.length === 0) return undefined;
    const value: HttpRouteIR = {
      source: 'VirtualService',
      name: r.id.name,
      namespace,
      createdAt: readCreatedAt(r),
      parents,
      hostnames: [],
      rules,
      ...(tcpRules.length > 0 ? { tcpRules } : {}),
      origin: r.origin,
    };
    return { type: 'HttpRoute', value };
  },
};

function readHttpRoute(r: ObjectReader, base: FieldPath, namespace: string): RouteRuleIR | undefined {
  if (r.record(base, true) === undefined) return undefined;
  const name = r.string([...base, 'name']);
  const matches = readVsMatches(r, base);
  const filters: RouteFilterIR[] = [...readVsHeaders(r, [...base, 'headers'])];
  const redirect = readRedirect(r, [...base, 'redirect']);
  if (redirect) filters.push(redirect);
  if (r.has([...base, 'directResponse'])) {
    const status = r.integer([...base, 'directResponse', 'status'], { required: true, min: 200, max: 599 });
    const body = r.string([...base, 'directResponse', 'body', 'string'], { allowEmpty: true }) ?? '';
    if (status !== undefined) filters.push({ kind: 'directResponse', status, body });
  }
  const rewrite = readRewrite(r, [...base, 'rewrite']);
  if (rewrite) filters.push(rewrite);
  filters.push(...readMirrors(r, base, namespace));
  const backends: BackendRefIR[] = [];
  const dests = r.list([...base, 'route']);
  dests.forEach((_, i) => {
    const b = readDestination(r, [...base, 'route', i], namespace, dests.length === 1);
    if (b) backends.push(b);
  });
  const actions = [dests.length > 0, redirect !== undefined, r.has([...base, 'directResponse'])].filter(Boolean).length;
  if (actions !== 1) r.error(base, 'FIELD_INVALID', 'needs exactly one of route, redirect, directResponse');
  const cors = readCorsPolicy(r, [...base, 'corsPolicy']);
  if (cors) filters.push({ kind: 'cors', cors });
  const timeoutMs = readDuration(r, [...base, 'timeout']);
  const retry = readRetries(r, [...base, 'retries']);
  const fault = readFault(r, [...base, 'fault']);
  return {
    ...(name !== undefined ? { name } : {}),
    matches,
    filters,
    backends,
    ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
    ...(retry ? { retry } : {}),
    ...(fault ? { fault } : {}),
  };
}

/**
 * `corsPolicy`: `allowOrigins` (StringMatch list; deprecated `allowOrigin` strings are exact),
 * `allowMethods`, `allowHeaders`, `exposeHeaders`, `maxAge`, `allowCredentials`.
 * `unmatchedPreflights: IGNORE` is not supported (preflights from other origins are forwarded).
 */
function readCorsPolicy(r: ObjectReader, base: FieldPath): CorsPolicyIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const allowOrigins: ValueMatchIR[] = [];
  r.list([...base, 'allowOrigins']).forEach((_, i) => {
    const m = readStringMatch(r, [...base, 'allowOrigins', i], false);
    if (m && m.kind !== 'present') allowOrigins.push(m);
    else r.error([...base, 'allowOrigins', i], 'FIELD_INVALID', 'needs one of exact, prefix, regex');
  });
  for (const o of r.stringList([...base, 'allowOrigin'])) allowOrigins.push({ kind: 'exact', value: o, ignoreCase: false });
  const unmatched = r.string([...base, 'unmatchedPreflights']);
  if (unmatched === 'IGNORE') r.warn([...base, 'unmatchedPreflights'], 'UNSUPPORTED', 'IGNORE is not applied: preflights from origins not allowed are forwarded');
  const maxAgeMs = readDuration(r, [...base, 'maxAge']);
  const allowCredentials = r.boolean([...base, 'allowCredentials']) ?? false;
  return {
    allowOrigins,
    allowMethods: r.stringList([...base, 'allowMethods']),
    allowHeaders: r.stringList([...base, 'allowHeaders']),
    exposeHeaders: r.stringList([...base, 'exposeHeaders']),
    ...(maxAgeMs !== undefined ? { maxAgeSeconds: Math.floor(maxAgeMs / 1000) } : {}),
    allowCredentials,
  };
}

/** L4 match fields Istio has that the waypoint does not apply (it sees the service port only). */
const TCP_MATCH_UNSUPPORTED = ['destinationSubnets', 'sourceLabels', 'sourceNamespace', 'sourceSubnet', 'gateways'] as const;

/**
 * A `tls` route: each `match` entry (`sniHosts` required, `port` optional) becomes one rule with
 * the route's weighted destinations, so entries stay ORed and each entry's fields ANDed.
 */
function readTlsRoute(r: ObjectReader, base: FieldPath, namespace: string): TcpRouteRuleIR[] {
  if (r.record(base, true) === undefined) return [];
  const backends = readTcpDestinations(r, base, namespace, 'tls');
  const matches = r.list([...base, 'match']);
  if (matches.length === 0) r.error([...base, 'match'], 'FIELD_REQUIRED', 'a tls route needs a match with sniHosts');
  const out: TcpRouteRuleIR[] = [];
  matches.forEach((_, i) => {
    const m = [...base, 'match', i];
    const port = r.port([...m, 'port'], false);
    for (const f of TCP_MATCH_UNSUPPORTED) {
      if (r.has([...m, f])) r.warn([...m, f], 'UNSUPPORTED', `tls match on ${f} is not applied; only port and sniHosts are matched`);
    }
    const sniHosts = readSniHosts(r, [...m, 'sniHosts']);
    if (sniHosts.length === 0) r.error([...m, 'sniHosts'], 'FIELD_REQUIRED', 'a tls match needs at least one server name');
    else out.push({ ports: port === undefined ? [] : [port], sniHosts, backends });
  });
  return out;
}

/** Server names as written (lowercase): DNS names, optionally `*.`-prefixed, or `*`. */
export function readSniHosts(r: ObjectReader, path: FieldPath): string[] {
  const out: string[] = [];
  r.stringList(path).forEach((h, i) => {
    const name = h.toLowerCase();
    if (name === '*' || SNI_HOST.test(name)) out.push(name);
    else r.error([...path, i], 'FIELD_INVALID', `${JSON.stringify(h)} is not a server name (a DNS name, optionally starting with "*.")`);
  });
  return out;
}

const SNI_HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** Weighted `route` destinations of a tcp or tls route (at least one). */
function readTcpDestinations(r: ObjectReader, base: FieldPath, namespace: string, kind: 'tcp' | 'tls'): BackendRefIR[] {
  const backends: BackendRefIR[] = [];
  const dests = r.list([...base, 'route']);
  if (dests.length === 0) r.error([...base, 'route'], 'FIELD_REQUIRED', `a ${kind} route needs at least one destination`);
  dests.forEach((_, i) => {
    const b = readDestination(r, [...base, 'route', i], namespace, dests.length === 1);
    if (b) backends.push({ target: b.target, weight: b.weight, filters: [] });
  });
  return backends;
}

/** A `tcp` route: `match[].port` and weighted `route` destinations (subset, port). */
function readTcpRoute(r: ObjectReader, base: FieldPath, namespace: string): TcpRouteRuleIR | undefined {
  if (r.record(base, true) === undefined) return undefined;
  const ports: number[] = [];
  let anyPort = false;
  r.list([...base, 'match']).forEach((_, i) => {
    const m = [...base, 'match', i];
    const port = r.port([...m, 'port'], false);
    for (const f of TCP_MATCH_UNSUPPORTED) {
      if (r.has([...m, f])) r.warn([...m, f], 'UNSUPPORTED', `tcp match on ${f} is not applied; only port is matched`);
    }
    // A match without a port holds for every port: the rule then matches all connections.
    if (port === undefined) anyPort = true;
    else ports.push(port);
  });
  return { ports: anyPort ? [] : ports, backends: readTcpDestinations(r, base, namespace, 'tcp') };
}

/** `Destination`: `host` (a mesh Service), `subset`, `port.number` (default: the request's port). */
function readTarget(r: ObjectReader, base: FieldPath, namespace: string): ServiceRefIR | undefined {
  const host = r.string([...base, 'host'], { required: true });
  const subset = r.string([...base, 'subset']);
  const port = r.port([...base, 'port', 'number'], false);
  if (host === undefined) return undefined;
  const s = serviceOfHost(host, namespace);
  if (!s) {
    r.error([...base, 'host'], 'UNSUPPORTED', `${JSON.stringify(host)} does not name a mesh Service`);
    return undefined;
  }
  return { ...s, ...(port !== undefined ? { port } : {}), ...(subset !== undefined ? { subset } : {}) };
}

function readDestination(r: ObjectReader, base: FieldPath, namespace: string, only: boolean): BackendRefIR | undefined {
  const target = readTarget(r, [...base, 'destination'], namespace);
  // A single destination takes all traffic; among several, a missing weight is 0 (as Istio builds it).
  const weight = r.integer([...base, 'weight'], { min: 0 }) ?? (only ? 1 : 0);
  const filters = readVsHeaders(r, [...base, 'headers']);
  return target ? { target, weight: only && weight === 0 ? 1 : weight, filters } : undefined;
}

function readRedirect(r: ObjectReader, base: FieldPath): RouteFilterIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const uri = r.string([...base, 'uri']);
  const authority = r.string([...base, 'authority']);
  const port = r.port([...base, 'port'], false);
  const schemeText = r.string([...base, 'scheme']);
  const statusCode = r.integer([...base, 'redirectCode']) ?? 301;
  if (!REDIRECT_CODES.has(statusCode)) r.error([...base, 'redirectCode'], 'FIELD_INVALID', `must be 301, 302, 303, 307 or 308, got ${statusCode}`);
  let scheme: 'http' | 'https' | undefined;
  if (schemeText === 'http' || schemeText === 'https') scheme = schemeText;
  else if (schemeText !== undefined) r.error([...base, 'scheme'], 'FIELD_INVALID', `must be http or https, got ${JSON.stringify(schemeText)}`);
  return {
    kind: 'redirect',
    redirect: {
      ...(scheme ? { scheme } : {}),
      ...(authority !== undefined ? { hostname: authority } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(uri !== undefined ? { path: { kind: 'full', value: uri } } : {}),
      statusCode,
    },
  };
}

function readRewrite(r: ObjectReader, base: FieldPath): RouteFilterIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const uri = r.string([...base, 'uri'], { allowEmpty: true });
  const authority = r.string([...base, 'authority']);
  let path: PathModifierIR | undefined;
  if (uri !== undefined) path = { kind: 'rawPrefix', value: uri };
  if (r.has([...base, 'uriRegexRewrite'])) {
    const match = r.string([...base, 'uriRegexRewrite', 'match'], { required: true });
    const rewrite = r.string([...base, 'uriRegexRewrite', 'rewrite'], { required: true, allowEmpty: true });
    if (uri !== undefined) r.error([...base, 'uriRegexRewrite'], 'FIELD_INVALID', 'cannot be combined with uri');
    const bad = match !== undefined ? checkRegex(match) : undefined;
    if (bad !== undefined) r.error([...base, 'uriRegexRewrite', 'match'], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
    else if (match !== undefined && rewrite !== undefined) path = { kind: 'regex', regex: { source: match, ignoreCase: false }, substitution: rewrite };
  }
  return { kind: 'rewrite', rewrite: { ...(authority !== undefined ? { hostname: authority } : {}), ...(path ? { path } : {}) } };
}

/** A mirror percentage: 100 when unset (Istio mirrors everything by default). */
function readPercent(r: ObjectReader, path: FieldPath): number {
  return r.percentage(path) ?? 100;
}

function readMirrors(r: ObjectReader, base: FieldPath, namespace: string): RouteFilterIR[] {
  const out: RouteFilterIR[] = [];
  if (r.has([...base, 'mirror'])) {
    const target = readTarget(r, [...base, 'mirror'], namespace);
    const percent = readPercent(r, [...base, 'mirrorPercentage', 'value']);
    if (target) out.push({ kind: 'mirror', target, percent });
  }
  r.list([...base, 'mirrors']).forEach((_, i) => {
    const target = readTarget(r, [...base, 'mirrors', i, 'destination'], namespace);
    const percent = readPercent(r, [...base, 'mirrors', i, 'percentage', 'value']);
    if (target) out.push({ kind: 'mirror', target, percent });
  });
  return out;
}

/**
 * `retries`: `attempts` (Istio: 0 or absent disables retries), `perTryTimeout`, `retryOn` (Envoy
 * tokens; integers are status codes, as Istio's `parseRetryOn`), `backoff` (Envoy `base_interval`).
 * Unknown tokens are reported and ignored, as Envoy ignores them.
 */
function readRetries(r: ObjectReader, base: FieldPath): RouteRetryIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const attempts = r.integer([...base, 'attempts'], { min: 0 }) ?? 0;
  const perTryTimeoutMs = readDuration(r, [...base, 'perTryTimeout']);
  const backoffMs = readDuration(r, [...base, 'backoff']);
  const tokens = (r.string([...base, 'retryOn']) ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const codes = tokens.filter((t) => STATUS_CODE.test(t)).map(Number);
  const retryOn = tokens.filter((t) => !STATUS_CODE.test(t));
  for (const t of retryOn) {
    if (!RETRY_ON_TOKENS.has(t)) r.warn([...base, 'retryOn'], 'UNSUPPORTED', `retry condition ${JSON.stringify(t)} is not supported; ignored`);
  }
  return {
    attempts,
    retryOn,
    codes,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(backoffMs !== undefined && backoffMs > 0 ? { backoffMs } : {}),
  };
}

const STATUS_CODE = /^[1-5]\d\d$/;
/** Envoy `retry_on` tokens (HTTP and gRPC) the waypoint applies. */
const RETRY_ON_TOKENS: ReadonlySet<string> = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

function readFault(r: ObjectReader, base: FieldPath): RouteFaultIR | undefined {
  if (r.record(base) === undefined) return undefined;
  let delay: RouteFaultIR['delay'];
  let abort: RouteFaultIR['abort'];
  if (r.has([...base, 'delay'])) {
    const fixedDelayMs = readDuration(r, [...base, 'delay', 'fixedDelay']);
    if (fixedDelayMs === undefined) r.error([...base, 'delay', 'fixedDelay'], 'FIELD_REQUIRED', 'is required');
    else delay = { fixedDelayMs, percent: readPercent(r, [...base, 'delay', 'percentage', 'value']) };
  }
  if (r.has([...base, 'abort'])) {
    const httpStatus = r.integer([...base, 'abort', 'httpStatus'], { min: 200, max: 599 });
    const grpcStatus = r.string([...base, 'abort', 'grpcStatus']);
    if (httpStatus === undefined && grpcStatus === undefined) r.error([...base, 'abort'], 'FIELD_REQUIRED', 'needs httpStatus or grpcStatus');
    abort = {
      ...(httpStatus !== undefined ? { httpStatus } : {}),
      ...(grpcStatus !== undefined ? { grpcStatus } : {}),
      percent: readPercent(r, [...base, 'abort', 'percentage', 'value']),
    };
  }
  return { ...(delay ? { delay } : {}), ...(abort ? { abort } : {}) };
}
