/**
 * `gateway.networking.k8s.io/v1 GRPCRoute` → {@link HttpRouteIR} (source `GRPCRoute`), matched on
 * the gRPC path `/<service>/<method>` the way Istio converts it: service and method exact →
 * exact path; service only → prefix `/<service>/`; method only, or `RegularExpression` → a full
 * regex with `[^/]+` for the missing part. Headers as in HTTPRoute. Filters: header modifiers and
 * `RequestMirror` (others are rejected as `UNSUPPORTED`). Precedence and merging with HTTPRoutes
 * for the same Service are the route table's (`src/routing/`).
 */
import type { BackendRefIR, HeaderMatchIR, PathMatchIR, RouteFilterIR, RouteMatchIR, RouteRuleIR } from '../ir-routes.js';
import { checkRegex } from '../../routing/compile-regex.js';
import { readHttpFilters } from './http-route-filters.js';
import { GATEWAY_API_VERSIONS, readBackendRef, translateGatewayRoute } from './http-route.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import type { Translator } from './translator.js';

const GRPC_FILTERS: ReadonlySet<RouteFilterIR['kind']> = new Set(['requestHeaders', 'responseHeaders', 'mirror']);
/** A gRPC service or method name segment: no `/`. */
const SEGMENT_RE = /^[^/]+$/;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** Every gRPC call is a POST to `/<service>/<method>`. */
const ANY_CALL: RouteMatchIR = Object.freeze({ headers: Object.freeze([]), queryParams: Object.freeze([]) });

export const grpcRouteTranslator: Translator = {
  kind: 'GRPCRoute',
  apiVersions: GATEWAY_API_VERSIONS,
  namespaced: true,
  translate: (r) => translateGatewayRoute(r, 'GRPCRoute', readRule),
};

function readRule(r: ObjectReader, base: FieldPath, namespace: string): RouteRuleIR {
  const name = r.string([...base, 'name']);
  const items = r.list([...base, 'matches']);
  const matches = items.length === 0 ? [ANY_CALL] : items.map((_, i) => readMatch(r, [...base, 'matches', i]));
  const filters = readHttpFilters(r, [...base, 'filters'], namespace);
  filters.forEach((f, i) => {
    if (!GRPC_FILTERS.has(f.kind)) r.error([...base, 'filters', i, 'type'], 'UNSUPPORTED', `${f.kind} is not a GRPCRoute filter`);
  });
  const backends: BackendRefIR[] = [];
  r.list([...base, 'backendRefs']).forEach((_, i) => {
    const b = readBackendRef(r, [...base, 'backendRefs', i], namespace);
    if (b) backends.push(b);
  });
  return { ...(name !== undefined ? { name } : {}), matches, filters, backends };
}

function readMatch(r: ObjectReader, base: FieldPath): RouteMatchIR {
  const path = readMethod(r, [...base, 'method']);
  const headers: HeaderMatchIR[] = [];
  r.list([...base, 'headers']).forEach((_, i) => {
    const h = [...base, 'headers', i];
    const name = r.string([...h, 'name'], { required: true });
    const value = r.string([...h, 'value'], { required: true, allowEmpty: true });
    const type = r.string([...h, 'type']) ?? 'Exact';
    if (name === undefined || value === undefined) return;
    if (!HEADER_NAME_RE.test(name)) return r.error([...h, 'name'], 'FIELD_INVALID', `${JSON.stringify(name)} is not a valid header name`);
    if (headers.some((x) => x.name === name.toLowerCase())) return;
    if (type === 'Exact') headers.push({ name: name.toLowerCase(), match: { kind: 'exact', value, ignoreCase: false }, invert: false });
    else if (type === 'RegularExpression') {
      const bad = checkRegex(value);
      if (bad !== undefined) return r.error([...h, 'value'], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
      headers.push({ name: name.toLowerCase(), match: { kind: 'regex', regex: { source: value, ignoreCase: false } }, invert: false });
    } else r.error([...h, 'type'], 'FIELD_INVALID', `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
  });
  return { ...(path ? { path } : {}), headers, queryParams: [] };
}

function readMethod(r: ObjectReader, base: FieldPath): PathMatchIR | undefined {
  if (!r.has(base)) return undefined;
  const type = r.string([...base, 'type']) ?? 'Exact';
  const service = r.string([...base, 'service']);
  const method = r.string([...base, 'method']);
  if (service === undefined && method === undefined) {
    r.error(base, 'FIELD_REQUIRED', 'needs service or method');
    return undefined;
  }
  if (type === 'Exact') {
    for (const [k, v] of [['service', service], ['method', method]] as const) {
      if (v !== undefined && !SEGMENT_RE.test(v)) r.error([...base, k], 'FIELD_INVALID', 'must not contain /');
    }
    if (service !== undefined && method !== undefined) return { kind: 'exact', value: `/${service}/${method}`, ignoreCase: false };
    if (service !== undefined) return { kind: 'prefix', value: `/${service}/`, ignoreCase: false };
    return { kind: 'regex', regex: { source: `/[^/]+/${escapeRegex(method ?? '')}`, ignoreCase: false } };
  }
  if (type !== 'RegularExpression') {
    r.error([...base, 'type'], 'FIELD_INVALID', `must be Exact or RegularExpression, got ${JSON.stringify(type)}`);
    return undefined;
  }
  for (const [k, v] of [['service', service], ['method', method]] as const) {
    const bad = v !== undefined ? checkRegex(v) : undefined;
    if (bad !== undefined) r.error([...base, k], 'FIELD_INVALID', `not a valid RE2 regex: ${bad}`);
  }
  return { kind: 'regex', regex: { source: `/${service ?? '[^/]+'}/${method ?? '[^/]+'}`, ignoreCase: false } };
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
