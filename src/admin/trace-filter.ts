/**
 * The filter of a `/debug/trace` subscription, from its query string, compiled once:
 * `method` (exact, case-insensitive), `path` (prefix of the request path), `status` (a code like
 * `503`, or a class like `5xx`), `principal` (the source's mTLS identity, exact). All given
 * fields must match. Anything else in the query is a mistake answered 400, not ignored.
 */
import type { AccessRecord } from '../telemetry/access-record.js';

export interface TraceFilter {
  readonly method?: string;
  readonly pathPrefix?: string;
  readonly status?: { readonly exact: number } | { readonly class: number };
  readonly principal?: string;
}

export type TraceFilterResult = { readonly ok: true; readonly filter: TraceFilter } | { readonly ok: false; readonly message: string };

const KEYS = new Set(['method', 'path', 'status', 'principal']);

export function parseTraceFilter(q: URLSearchParams): TraceFilterResult {
  for (const k of q.keys()) if (!KEYS.has(k)) return { ok: false, message: `unknown filter ${JSON.stringify(k)}: use method, path, status, principal` };
  const one = (k: string): string | undefined => {
    const all = q.getAll(k);
    return all.length > 0 ? all[all.length - 1] : undefined;
  };
  const method = one('method');
  const path = one('path');
  const status = one('status');
  const principal = one('principal');
  let st: TraceFilter['status'];
  if (status !== undefined) {
    if (/^[1-5][0-9][0-9]$/.test(status)) st = { exact: Number(status) };
    else if (/^[1-5]xx$/i.test(status)) st = { class: Number(status[0]) };
    else return { ok: false, message: `status must be a code (503) or a class (5xx), got ${JSON.stringify(status)}` };
  }
  if (method !== undefined && !/^[A-Za-z]+$/.test(method)) return { ok: false, message: `method must be a token like GET, got ${JSON.stringify(method)}` };
  if (path !== undefined && !path.startsWith('/')) return { ok: false, message: `path must start with /, got ${JSON.stringify(path)}` };
  return {
    ok: true,
    filter: {
      ...(method !== undefined ? { method: method.toUpperCase() } : {}),
      ...(path !== undefined ? { pathPrefix: path } : {}),
      ...(st ? { status: st } : {}),
      ...(principal !== undefined ? { principal } : {}),
    },
  };
}

export function traceMatches(f: TraceFilter, r: AccessRecord): boolean {
  if (f.method !== undefined && r.method?.toUpperCase() !== f.method) return false;
  if (f.pathPrefix !== undefined && !(r.path ?? '').startsWith(f.pathPrefix)) return false;
  if (f.status) {
    const code = r.responseCode ?? 0;
    if ('exact' in f.status ? code !== f.status.exact : Math.floor(code / 100) !== f.status.class) return false;
  }
  if (f.principal !== undefined && r.sourcePrincipal !== f.principal) return false;
  return true;
}
