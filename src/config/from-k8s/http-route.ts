/**
 * `gateway.networking.k8s.io/v1 HTTPRoute` → {@link HttpRouteIR}. Attached with `parentRefs` to
 * a Service (GAMMA: `group: ""`, `kind: Service`) or to a waypoint Gateway; other parents
 * (ingress Gateways) are not for this data plane and are left out — a route with none left is
 * skipped. Precedence across rules and routes is the route table's job (`src/routing/`).
 *
 * Rejected (the spec's `Accepted: False`): unsupported filter types, `ReplacePrefixMatch` on a
 * rule whose matches are not all `PathPrefix`, a redirect together with a rewrite. A backend the
 * waypoint cannot use (another kind; cross-namespace without a ReferenceGrant, which the snapshot
 * builder checks) is kept as an invalid backend: its share of traffic gets a 500, as the spec requires.
 */
import type { BackendRefIR, HttpRouteIR, RouteFilterIR, RouteMatchIR, RouteParentIR, RouteRuleIR } from '../ir-routes.js';
import { readDuration } from './duration.js';
import { readHttpFilters, readServiceRef } from './http-route-filters.js';
import { readHttpMatches } from './http-route-match.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import type { TranslatedValue, Translator } from './translator.js';

export const GATEWAY_API_VERSIONS = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'];

export const httpRouteTranslator: Translator = {
  kind: 'HTTPRoute',
  apiVersions: GATEWAY_API_VERSIONS,
  namespaced: true,
  translate: (r) => translateGatewayRoute(r, 'HTTPRoute', readRule),
};

/**
 * What HTTPRoute and GRPCRoute share: parents, hostnames, rules (read by the kind's own rule
 * reader), the creation time for precedence, and the IR they both become.
 */
export function translateGatewayRoute(
  r: ObjectReader,
  source: HttpRouteIR['source'],
  readKindRule: (r: ObjectReader, base: FieldPath, namespace: string) => RouteRuleIR,
): TranslatedValue | undefined {
  const namespace = r.id.namespace ?? 'default';
  const parents = readParentRefs(r, namespace);
  const hostnames = r.stringList(['spec', 'hostnames']).map((h) => h.toLowerCase());
  const rules: RouteRuleIR[] = [];
  r.list(['spec', 'rules']).forEach((_, i) => rules.push(readKindRule(r, ['spec', 'rules', i], namespace)));
  if (r.failed || parents.length === 0) return undefined;
  const value: HttpRouteIR = { source, name: r.id.name, namespace, createdAt: readCreatedAt(r), parents, hostnames, rules, origin: r.origin };
  return { type: 'HttpRoute', value };
}

/** `metadata.creationTimestamp` in ms (the spec's tie-break: oldest first); 0 when absent. */
export function readCreatedAt(r: ObjectReader): number {
  const text = r.string(['metadata', 'creationTimestamp']);
  if (text === undefined) return 0;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    r.error(['metadata', 'creationTimestamp'], 'FIELD_INVALID', `${JSON.stringify(text)} is not an RFC 3339 time`);
    return 0;
  }
  return ms;
}

/** Service and Gateway parents; others (ingress listeners...) are quietly not ours. */
export function readParentRefs(r: ObjectReader, namespace: string): RouteParentIR[] {
  const out: RouteParentIR[] = [];
  r.list(['spec', 'parentRefs']).forEach((_, i) => {
    const base = ['spec', 'parentRefs', i];
    const group = r.string([...base, 'group'], { allowEmpty: true });
    const kind = r.string([...base, 'kind']) ?? 'Gateway';
    const name = r.string([...base, 'name'], { required: true });
    const ns = r.string([...base, 'namespace']) ?? namespace;
    const port = r.port([...base, 'port'], false);
    if (name === undefined) return;
    const portPart = port !== undefined ? { port } : {};
    if (kind === 'Service' && (group ?? '') === '') out.push({ kind: 'Service', namespace: ns, name, ...portPart });
    else if (kind === 'Gateway' && (group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io') {
      out.push({ kind: 'Gateway', namespace: ns, name, ...portPart });
    }
  });
  return out;
}

function readRule(r: ObjectReader, base: FieldPath, namespace: string): RouteRuleIR {
  const name = r.string([...base, 'name']);
  const matches = readHttpMatches(r, base);
  const filters = readHttpFilters(r, [...base, 'filters'], namespace);
  checkFilterCombination(r, base, filters, matches);
  const backends: BackendRefIR[] = [];
  r.list([...base, 'backendRefs']).forEach((_, i) => {
    const b = readBackendRef(r, [...base, 'backendRefs', i], namespace);
    if (b) backends.push(b);
  });
  const timeoutMs = readDuration(r, [...base, 'timeouts', 'request']);
  const backendTimeoutMs = readDuration(r, [...base, 'timeouts', 'backendRequest']);
  if (timeoutMs !== undefined && backendTimeoutMs !== undefined && timeoutMs !== 0 && backendTimeoutMs > timeoutMs) {
    r.error([...base, 'timeouts', 'backendRequest'], 'FIELD_INVALID', 'must not be longer than timeouts.request');
  }
  const retry = readRetry(r, [...base, 'retry']);
  return {
    ...(name !== undefined ? { name } : {}),
    matches,
    filters,
    backends,
    ...(timeoutMs !== undefined && timeoutMs > 0 ? { timeoutMs } : {}),
    ...(backendTimeoutMs !== undefined && backendTimeoutMs > 0 ? { backendTimeoutMs } : {}),
    ...(retry ? { retry } : {}),
  };
}

function checkFilterCombination(r: ObjectReader, base: FieldPath, filters: readonly RouteFilterIR[], matches: readonly RouteMatchIR[]): void {
  const has = (k: RouteFilterIR['kind']): boolean => filters.some((f) => f.kind === k);
  if (has('redirect') && has('rewrite')) r.error([...base, 'filters'], 'FIELD_INVALID', 'RequestRedirect and URLRewrite cannot be used together');
  const usesPrefixReplace = filters.some(
    (f) => (f.kind === 'redirect' && f.redirect.path?.kind === 'prefix') || (f.kind === 'rewrite' && f.rewrite.path?.kind === 'prefix'),
  );
  if (usesPrefixReplace && !matches.every((m) => m.path?.kind === 'prefix')) {
    r.error([...base, 'filters'], 'FIELD_INVALID', 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match');
  }
}

export function readBackendRef(r: ObjectReader, base: FieldPath, namespace: string): BackendRefIR | undefined {
  const weight = r.integer([...base, 'weight'], { min: 0, max: 1_000_000 }) ?? 1;
  const filters = readHttpFilters(r, [...base, 'filters'], namespace);
  const kind = r.string([...base, 'kind']) ?? 'Service';
  const group = r.string([...base, 'group'], { allowEmpty: true }) ?? '';
  if (kind !== 'Service' || group !== '') {
    // Kept (not an error): the spec wants this backend's share answered with a 500.
    r.warn([...base, 'kind'], 'UNSUPPORTED', `backend ${group === '' ? '' : `${group}/`}${kind} is not supported; its share of traffic gets a 500`);
    const name = r.string([...base, 'name']) ?? '';
    return { target: { namespace, name }, weight, filters, invalid: `unsupported backend kind ${kind}` };
  }
  const target = readServiceRef(r, base, namespace);
  if (!target) return undefined;
  // Whether a ReferenceGrant allows it is known only with every object: the snapshot builder decides.
  if (target.namespace !== namespace) return { target, weight, filters, crossNamespace: true };
  return { target, weight, filters };
}

/**
 * Gateway API `retry` (GEP-1731): `attempts` (default 2, as Istio), `codes` (→
 * `retriable-status-codes`), `backoff` (→ Envoy `base_interval`), and the conditions below.
 * Istio's own conversion stops at `connect-failure,refused-stream,unavailable,cancelled`, which
 * retries neither a `backendRequest` timeout nor a reset after the request was sent; the Gateway
 * API (HTTPRouteRetryBackendTimeout, HTTPRouteRetryConnectionError) wants both, so `reset` is
 * added (docs/routing.md).
 */
function readRetry(r: ObjectReader, base: FieldPath): RouteRuleIR['retry'] {
  if (!r.has(base)) return undefined;
  const attempts = r.integer([...base, 'attempts'], { min: 0 }) ?? 2;
  const codes: number[] = [];
  r.list([...base, 'codes']).forEach((_, i) => {
    const c = r.integer([...base, 'codes', i], { min: 400, max: 599 });
    if (c !== undefined) codes.push(c);
  });
  const backoffMs = readDuration(r, [...base, 'backoff']);
  return { attempts, retryOn: [...CONNECTION_RETRY_ON], codes, ...(backoffMs !== undefined && backoffMs > 0 ? { backoffMs } : {}) };
}

/**
 * GEP-1731: with a retry stanza, a `backendRequest` timeout and a connection error (refused,
 * disconnect, reset) are retried even without `codes`. Envoy's `reset` covers a reset after the
 * request started and a per-try timeout; `connect-failure` and `refused-stream` the rest.
 */
const CONNECTION_RETRY_ON = ['connect-failure', 'refused-stream', 'reset', 'unavailable', 'cancelled'] as const;
