/**
 * What the waypoint changes in headers as they cross it, in both directions, like Envoy's HTTP
 * connection manager configured by Istio for a waypoint (reference envoy-istio-semantics §1, §3.2):
 * hop-by-hop headers are connection-scoped and never forwarded; `x-envoy-attempt-count` goes
 * upstream; `server: istio-envoy` (overwritten) and `x-envoy-upstream-service-time` go downstream.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { HeaderMap } from '../filter/header-map.js';
import { UPSTREAM_SCHEME_HEADER } from '../upstream/h2-request-trailers.js';
import { lowerHeaderName } from './header-name.js';

/**
 * RFC 9110 §7.6.1 connection-scoped headers, plus `proxy-connection`; HTTP/2 forbids them outright
 * (Node throws when asked to send one). `te` is handled apart: `te: trailers` is end-to-end for gRPC.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  // Expect/100-continue is answered by the downstream codec; undici refuses to send it.
  'expect',
]);

/** Headers the proxy sets itself, so a client's copy is replaced, not duplicated. */
const SET_UPSTREAM: ReadonlySet<string> = new Set(['host', 'x-envoy-attempt-count', UPSTREAM_SCHEME_HEADER]);
const SET_DOWNSTREAM: ReadonlySet<string> = new Set(['server', 'x-envoy-upstream-service-time']);

export const SERVER_HEADER = 'istio-envoy';

/** True when `name` is listed in a `Connection` header value (those are hop-by-hop too). */
function listedInConnection(connection: string | undefined, name: string): boolean {
  if (connection === undefined) return false;
  // Token scan without split/regex: Connection values are short lists like "keep-alive, x-foo".
  const lower = connection.toLowerCase();
  let from = 0;
  while (from <= lower.length) {
    const comma = lower.indexOf(',', from);
    const end = comma === -1 ? lower.length : comma;
    if (lower.slice(from, end).trim() === name) return true;
    if (comma === -1) break;
    from = comma + 1;
  }
  return false;
}

/** Keeps `te` only as `trailers` (the one end-to-end use, gRPC), as Envoy does. */
function keepTe(value: string): boolean {
  return value.trim().toLowerCase() === 'trailers';
}

/**
 * The header list sent upstream, flat `[name, value, ...]` as undici takes it: the request's
 * headers minus hop-by-hop ones, plus `host` (from `:authority`) and `x-envoy-attempt-count`.
 */
export function upstreamRequestHeaders(headers: HeaderMap, authority: string, attempt: number, h2Scheme?: string): string[] {
  const out: string[] = [];
  const connection = headers.get('connection');
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || SET_UPSTREAM.has(name)) continue;
    if (connection !== undefined && listedInConnection(connection, name)) continue;
    if (typeof value === 'string') {
      if (name === 'te' && !keepTe(value)) continue;
      out.push(name, value);
    } else {
      for (const v of value) if (name !== 'te' || keepTe(v)) out.push(name, v);
    }
  }
  out.push('host', authority, 'x-envoy-attempt-count', attempt === 1 ? '1' : String(attempt));
  // undici always sends `:scheme: http`; another one is carried to the HTTP/2 session's hook.
  if (h2Scheme !== undefined && h2Scheme !== 'http') out.push(UPSTREAM_SCHEME_HEADER, h2Scheme);
  return out;
}

/**
 * Parses undici's raw response headers (`[name, value, ...]` as Buffers) into a header map,
 * skipping pseudo-headers and hop-by-hop headers.
 */
export function responseHeadersFromRaw(raw: readonly (Buffer | string)[]): HeaderMap {
  const map = new HeaderMap();
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const nameRaw = raw[i] as Buffer | string;
    const name = lowerHeaderName(nameRaw);
    const valueRaw = raw[i + 1] as Buffer | string;
    const value = typeof valueRaw === 'string' ? valueRaw : valueRaw.toString('latin1');
    if (name === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
    if (name.charCodeAt(0) === 0x3a || HOP_BY_HOP.has(name) || name === 'te') continue;
    map.append(name, value);
  }
  if (connection !== undefined) dropListed(map, connection);
  return map;
}

/** Removes the headers a `Connection` value names (rare: only when the upstream sent one). */
function dropListed(map: HeaderMap, connection: string): void {
  const names: string[] = [];
  for (const [name] of map) if (listedInConnection(connection, name)) names.push(name);
  for (const name of names) map.delete(name);
}

/**
 * The headers written downstream: the (filtered) response headers with `server: istio-envoy`
 * overwritten and, for proxied responses, `x-envoy-upstream-service-time`.
 */
export function downstreamResponseHeaders(headers: HeaderMap, upstreamServiceTimeMs: number | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || SET_DOWNSTREAM.has(name) || name === 'te') continue;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  out['server'] = SERVER_HEADER;
  if (upstreamServiceTimeMs !== undefined) out['x-envoy-upstream-service-time'] = String(upstreamServiceTimeMs);
  return out;
}

/**
 * The same headers as {@link downstreamResponseHeaders}, as the flat `[name, value, ...]` list
 * Node's HTTP/1 `writeHead` takes: no object with a per-response key order (a new hidden class
 * for V8 each time a header set differs) and no `Object.keys` in Node's header serialisation.
 */
export function downstreamResponseHeaderList(headers: HeaderMap, upstreamServiceTimeMs: number | undefined): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || SET_DOWNSTREAM.has(name) || name === 'te') continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  out.push('server', SERVER_HEADER);
  if (upstreamServiceTimeMs !== undefined) out.push('x-envoy-upstream-service-time', String(upstreamServiceTimeMs));
  return out;
}

/**
 * Trailers as sent on either side: the map minus connection-specific names and pseudo-headers
 * (HTTP/2 forbids both in trailers; Node throws on them).
 */
export function upstreamTrailerHeaders(trailers: HeaderMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of trailers) {
    if (HOP_BY_HOP.has(name) || name === 'te' || name.charCodeAt(0) === 0x3a) continue;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

/** Response trailers written downstream, flat: the same rules as request trailers going upstream. */
export function downstreamTrailerList(trailers: HeaderMap): string[] {
  const out: string[] = [];
  for (const [name, value] of trailers) {
    if (HOP_BY_HOP.has(name) || name === 'te' || name.charCodeAt(0) === 0x3a) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/**
 * The upstream response's trailers, or undefined when there are none. undici reports them as a
 * raw `[name, value, ...]` list over HTTP/1.1 but as Node's header object over HTTP/2 (its
 * HTTP/2 client passes the 'trailers' event's object through), so both are accepted.
 */
export function upstreamTrailersOf(raw: readonly (Buffer | string)[] | Readonly<Record<string, unknown>> | null): HeaderMap | undefined {
  if (!raw) return undefined;
  if (Array.isArray(raw)) return raw.length > 0 ? responseHeadersFromRaw(raw as readonly (Buffer | string)[]) : undefined;
  const map = new HeaderMap();
  const obj = raw as Readonly<Record<string, unknown>>;
  for (const name in obj) {
    if (!Object.hasOwn(obj, name)) continue;
    const lower = name.toLowerCase();
    if (lower.charCodeAt(0) === 0x3a || HOP_BY_HOP.has(lower) || lower === 'te') continue;
    const v = obj[name];
    if (typeof v === 'string') map.append(lower, v);
    else if (Array.isArray(v)) for (const x of v) map.append(lower, String(x));
    else if (typeof v === 'number') map.append(lower, String(v));
  }
  return map.size > 0 ? map : undefined;
}
