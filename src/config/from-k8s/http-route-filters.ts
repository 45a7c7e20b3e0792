/**
 * Gateway API `HTTPRouteFilter` list → {@link RouteFilterIR}s: `RequestHeaderModifier`,
 * `ResponseHeaderModifier`, `RequestRedirect`, `URLRewrite`, `RequestMirror`, `CORS`. Other types
 * (`ExternalAuth`, `ExtensionRef`) are not supported: the route is rejected with an
 * `UNSUPPORTED` diagnostic (the spec's `Accepted: False`) rather than served half-configured.
 */
import type { HeaderMutationIR, PathModifierIR, RedirectIR, RewriteIR, RouteFilterIR, ServiceRefIR } from '../ir-routes.js';
import { readCorsFilter } from './http-route-cors.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { isHeaderValue } from './header-field.js';

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export function readHttpFilters(r: ObjectReader, base: FieldPath, namespace: string): RouteFilterIR[] {
  const out: RouteFilterIR[] = [];
  r.list(base).forEach((_, i) => {
    const f = readFilter(r, [...base, i], namespace);
    if (f) out.push(f);
  });
  return out;
}

function readFilter(r: ObjectReader, base: FieldPath, namespace: string): RouteFilterIR | undefined {
  const type = r.string([...base, 'type'], { required: true });
  switch (type) {
    case undefined:
      return undefined;
    case 'RequestHeaderModifier':
      return { kind: 'requestHeaders', mutation: readHeaderModifier(r, [...base, 'requestHeaderModifier']) };
    case 'ResponseHeaderModifier':
      return { kind: 'responseHeaders', mutation: readHeaderModifier(r, [...base, 'responseHeaderModifier']) };
    case 'RequestRedirect':
      return { kind: 'redirect', redirect: readRedirect(r, [...base, 'requestRedirect']) };
    case 'URLRewrite':
      return { kind: 'rewrite', rewrite: readRewrite(r, [...base, 'urlRewrite']) };
    case 'RequestMirror':
      return readMirror(r, [...base, 'requestMirror'], namespace);
    case 'CORS': {
      const cors = readCorsFilter(r, [...base, 'cors']);
      return cors ? { kind: 'cors', cors } : undefined;
    }
    default:
      r.error([...base, 'type'], 'UNSUPPORTED', `filter type ${JSON.stringify(type)} is not supported by this waypoint`);
      return undefined;
  }
}

/** `{set: [{name, value}], add: [{name, value}], remove: [name]}`; names lowercased. */
export function readHeaderModifier(r: ObjectReader, base: FieldPath): HeaderMutationIR {
  r.record(base, true);
  const pairs = (key: 'set' | 'add'): [string, string][] => {
    const out: [string, string][] = [];
    r.list([...base, key]).forEach((_, i) => {
      const name = r.string([...base, key, i, 'name'], { required: true });
      const value = r.string([...base, key, i, 'value'], { required: true, allowEmpty: true });
      if (name === undefined || value === undefined) return;
      if (!HEADER_NAME_RE.test(name)) r.error([...base, key, i, 'name'], 'FIELD_INVALID', `${JSON.stringify(name)} is not a valid header name`);
      else if (!isHeaderValue(value)) r.error([...base, key, i, 'value'], 'FIELD_INVALID', `${JSON.stringify(value)} is not a valid header value (control characters such as CR/LF)`);
      else out.push([name.toLowerCase(), value]);
    });
    return out;
  };
  const remove = r.stringList([...base, 'remove']).map((n) => n.toLowerCase());
  return { set: pairs('set'), add: pairs('add'), remove };
}

function readPathModifier(r: ObjectReader, base: FieldPath): PathModifierIR | undefined {
  if (!r.has(base)) return undefined;
  const type = r.string([...base, 'type'], { required: true });
  switch (type) {
    case undefined:
      return undefined;
    case 'ReplaceFullPath': {
      const value = r.string([...base, 'replaceFullPath'], { required: true });
      return value === undefined ? undefined : { kind: 'full', value };
    }
    case 'ReplacePrefixMatch': {
      const value = r.string([...base, 'replacePrefixMatch'], { required: true });
      return value === undefined ? undefined : { kind: 'prefix', value };
    }
    default:
      r.error([...base, 'type'], 'FIELD_INVALID', `must be ReplaceFullPath or ReplacePrefixMatch, got ${JSON.stringify(type)}`);
      return undefined;
  }
}

function readRedirect(r: ObjectReader, base: FieldPath): RedirectIR {
  r.record(base, true);
  const schemeText = r.string([...base, 'scheme']);
  let scheme: 'http' | 'https' | undefined;
  if (schemeText === 'http' || schemeText === 'https') scheme = schemeText;
  else if (schemeText !== undefined) r.error([...base, 'scheme'], 'FIELD_INVALID', `must be http or https, got ${JSON.stringify(schemeText)}`);
  const hostname = r.string([...base, 'hostname']);
  const port = r.port([...base, 'port'], false);
  const path = readPathModifier(r, [...base, 'path']);
  const statusCode = r.integer([...base, 'statusCode']) ?? 302;
  if (!REDIRECT_CODES.has(statusCode)) r.error([...base, 'statusCode'], 'FIELD_INVALID', `must be 301, 302, 303, 307 or 308, got ${statusCode}`);
  return {
    ...(scheme !== undefined ? { scheme } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(path !== undefined ? { path } : {}),
    statusCode,
  };
}

function readRewrite(r: ObjectReader, base: FieldPath): RewriteIR {
  r.record(base, true);
  const hostname = r.string([...base, 'hostname']);
  const path = readPathModifier(r, [...base, 'path']);
  return { ...(hostname !== undefined ? { hostname } : {}), ...(path !== undefined ? { path } : {}) };
}

function readMirror(r: ObjectReader, base: FieldPath, namespace: string): RouteFilterIR | undefined {
  r.record(base, true);
  const target = readServiceRef(r, [...base, 'backendRef'], namespace);
  let percent = 100;
  const p = r.integer([...base, 'percent'], { min: 0, max: 100 });
  if (p !== undefined) percent = p;
  if (r.has([...base, 'fraction'])) {
    const num = r.integer([...base, 'fraction', 'numerator'], { required: true, min: 0 });
    const den = r.integer([...base, 'fraction', 'denominator'], { min: 1 }) ?? 100;
    if (num !== undefined) {
      if (num > den) r.error([...base, 'fraction', 'numerator'], 'FIELD_INVALID', 'must not exceed the denominator');
      else percent = (num / den) * 100;
    }
  }
  return target ? { kind: 'mirror', target, percent } : undefined;
}

/**
 * A `BackendObjectReference` to a Service: `group` "" (core), `kind` Service, `name`, `port`
 * (required for Services), `namespace` (default: the route's). Other kinds are unsupported.
 */
export function readServiceRef(r: ObjectReader, base: FieldPath, namespace: string): ServiceRefIR | undefined {
  if (r.record(base, true) === undefined) return undefined;
  const group = r.string([...base, 'group'], { allowEmpty: true }) ?? '';
  const kind = r.string([...base, 'kind']) ?? 'Service';
  const name = r.string([...base, 'name'], { required: true });
  const ns = r.string([...base, 'namespace']) ?? namespace;
  const port = r.port([...base, 'port'], true);
  if (group !== '' || kind !== 'Service') {
    r.error([...base, 'kind'], 'UNSUPPORTED', `only core Services can be backends, got ${group === '' ? '' : `${group}/`}${kind}`);
    return undefined;
  }
  if (name === undefined || port === undefined) return undefined;
  return { namespace: ns, name, port };
}
