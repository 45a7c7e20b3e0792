/**
 * MeshConfig `extensionProviders[]` entries with `envoyExtAuthzHttp` or `envoyExtAuthzGrpc`: the
 * external authorizers an AuthorizationPolicy with action CUSTOM names (istio.io reference
 * "Global Mesh Options", ExtensionProvider). A bad entry is reported and left out; a CUSTOM policy
 * naming a provider that is not here fails closed (src/security/security-chains.ts).
 */
import type { StringMatch } from '../filter/authz-config.js';
import type { ExtAuthzBodySettings, ExtAuthzProvider } from '../filter/ext-authz-config.js';
import { EXT_AUTHZ_DEFAULT_MAX_BODY, EXT_AUTHZ_DEFAULT_TIMEOUT_MS } from '../filter/ext-authz-config.js';
import { parseDuration } from './from-k8s/duration.js';

export interface ProviderProblem {
  readonly field: string;
  readonly message: string;
}

type Rec = Record<string, unknown>;

function asRecord(v: unknown): Rec | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined;
}

/** Istio's header-list forms (`*`, `x*`, `*x`, exact), on lowercase names. */
function headerMatch(v: string): StringMatch {
  const s = v.toLowerCase();
  if (s === '*') return { kind: 'presence' };
  if (s.startsWith('*')) return { kind: 'suffix', value: s.slice(1) };
  if (s.endsWith('*')) return { kind: 'prefix', value: s.slice(0, -1) };
  return { kind: 'exact', value: s };
}

/** Reads every ext_authz provider of `extensionProviders`; `undefined` when there is none. */
export function parseExtAuthzProviders(value: unknown, problems: ProviderProblem[]): Record<string, ExtAuthzProvider> | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Record<string, ExtAuthzProvider> = {};
  value.forEach((entry: unknown, i) => {
    const e = asRecord(entry);
    const name = e?.['name'];
    if (!e || typeof name !== 'string' || name === '') return;
    const http = asRecord(e['envoyExtAuthzHttp']);
    const grpc = asRecord(e['envoyExtAuthzGrpc']);
    if (!http && !grpc) return;
    const base = `extensionProviders[${i}].${http ? 'envoyExtAuthzHttp' : 'envoyExtAuthzGrpc'}`;
    const p = readProvider(name, (http ?? grpc) as Rec, http ? 'http' : 'grpc', base, problems);
    if (p) out[name] = p;
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

function readProvider(name: string, rec: Rec, kind: 'http' | 'grpc', base: string, problems: ProviderProblem[]): ExtAuthzProvider | undefined {
  const before = problems.length;
  const bad = (field: string, message: string): void => void problems.push({ field: `${base}.${field}`, message });
  const serviceText = rec['service'];
  let service = '';
  if (typeof serviceText !== 'string' || serviceText === '') bad('service', 'is required (a host name, optionally "namespace/host")');
  else service = serviceText.includes('/') ? serviceText.slice(serviceText.indexOf('/') + 1) : serviceText;
  const port = Number(rec['port']);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad('port', `must be a port number, got ${JSON.stringify(rec['port'])}`);
  let timeoutMs = EXT_AUTHZ_DEFAULT_TIMEOUT_MS;
  if (rec['timeout'] !== undefined) {
    const t = typeof rec['timeout'] === 'string' ? parseDuration(rec['timeout']) : undefined;
    if (t === undefined || t <= 0) bad('timeout', `must be a positive duration (like 2s, 500ms), got ${JSON.stringify(rec['timeout'])}`);
    else timeoutMs = t;
  }
  const failOpen = rec['failOpen'] === true;
  let statusOnError = 403;
  if (rec['statusOnError'] !== undefined) {
    const s = Number(rec['statusOnError']);
    if (!Number.isInteger(s) || s < 200 || s > 599) bad('statusOnError', `must be an HTTP status (200-599), got ${JSON.stringify(rec['statusOnError'])}`);
    else statusOnError = s;
  }
  const body = readBody(rec['includeRequestBodyInCheck'], bad);
  if (problems.length > before) return undefined;
  const common = { name, service, port, timeoutMs, failOpen, statusOnError, ...(body ? { body } : {}) };
  if (kind === 'grpc') return Object.freeze({ kind, ...common });
  const prefix = rec['pathPrefix'];
  if (prefix !== undefined && (typeof prefix !== 'string' || !prefix.startsWith('/'))) {
    bad('pathPrefix', `must start with "/", got ${JSON.stringify(prefix)}`);
    return undefined;
  }
  // `includeHeadersInCheck` is the deprecated name of `includeRequestHeadersInCheck`.
  const include = [...strings(rec['includeRequestHeadersInCheck']), ...strings(rec['includeHeadersInCheck'])];
  const additional: Record<string, string> = {};
  const add = asRecord(rec['includeAdditionalHeadersInCheck']);
  if (add) for (const [k, v] of Object.entries(add)) if (typeof v === 'string') additional[k.toLowerCase()] = v;
  const deny = rec['headersToDownstreamOnDeny'];
  return Object.freeze({
    kind,
    ...common,
    pathPrefix: typeof prefix === 'string' ? prefix.replace(/\/+$/, '') : '',
    includeRequestHeaders: include.map(headerMatch),
    additionalHeaders: additional,
    headersToUpstreamOnAllow: strings(rec['headersToUpstreamOnAllow']).map(headerMatch),
    ...(Array.isArray(deny) ? { headersToDownstreamOnDeny: strings(deny).map(headerMatch) } : {}),
  });
}

function readBody(v: unknown, bad: (field: string, message: string) => void): ExtAuthzBodySettings | undefined {
  if (v === undefined || v === null) return undefined;
  const rec = asRecord(v);
  if (!rec) {
    bad('includeRequestBodyInCheck', 'must be a mapping');
    return undefined;
  }
  const max = rec['maxRequestBytes'] === undefined ? EXT_AUTHZ_DEFAULT_MAX_BODY : Number(rec['maxRequestBytes']);
  if (!Number.isInteger(max) || max < 1) {
    bad('includeRequestBodyInCheck.maxRequestBytes', `must be a positive integer, got ${JSON.stringify(rec['maxRequestBytes'])}`);
    return undefined;
  }
  return Object.freeze({ maxRequestBytes: max, allowPartialMessage: rec['allowPartialMessage'] === true, packAsBytes: rec['packAsBytes'] === true });
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}
