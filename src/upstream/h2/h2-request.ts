/**
 * One HTTP/2 request as the upstream client sends it, validated and converted at dispatch (so a
 * request that cannot be sent is refused before any frame leaves, as undici did): the caller's
 * flat header list becomes the plain header object `session.request()` takes, with `host` as
 * `:authority`, the scheme carried in {@link UPSTREAM_SCHEME_HEADER} as `:scheme`, and
 * repeated fields joined with `, ` (cookies kept as separate fields), as undici sent them.
 *
 * Connection-specific fields (RFC 9113 §8.2.2) are refused rather than dropped: the proxy strips
 * them before dispatch, so one reaching here is a bug or a plugin's doing, and Node would throw.
 */
import type http2 from 'node:http2';
import type { Dispatcher } from 'undici';
import { upstreamBodyOf } from '../request-body.js';
import type { UpstreamBody } from '../request-body.js';
import { FIELD_NAME_TOKEN, INVALID_FIELD_VALUE, INVALID_REQUEST_PATH } from '../request-field-syntax.js';
import { UPSTREAM_SCHEME_HEADER } from '../h2-request-trailers.js';
import { UpstreamH2Error } from './h2-error.js';

/** A request body the client can send. */
export type H2Body = UpstreamBody;

const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function invalid(what: string): UpstreamH2Error {
  return new UpstreamH2Error('H2_INVALID_REQUEST', `invalid upstream request: ${what}`);
}

/** Methods whose requests carry a payload (an empty body still gets `content-length: 0`, as undici sent). */
function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

export class H2Request {
  readonly headers: http2.OutgoingHttpHeaders;
  readonly body: H2Body;
  /** No DATA frames follow the headers. */
  readonly endStream: boolean;

  constructor(
    options: Dispatcher.DispatchOptions,
    readonly handler: Dispatcher.DispatchHandler,
    defaultAuthority: string,
  ) {
    const { method, path } = options;
    if (typeof method !== 'string' || !FIELD_NAME_TOKEN.test(method) || method === 'CONNECT') throw invalid('method');
    const asterisk = path === '*' && method === 'OPTIONS';
    if (typeof path !== 'string' || (path.charCodeAt(0) !== 0x2f && !asterisk) || INVALID_REQUEST_PATH.test(path)) throw invalid('path');
    const headers: http2.OutgoingHttpHeaders = Object.create(null) as http2.OutgoingHttpHeaders;
    const raw = options.headers;
    if (Array.isArray(raw)) {
      for (let i = 0; i + 1 < raw.length; i += 2) addField(headers, raw[i] as string, raw[i + 1]);
    } else if (raw && typeof raw === 'object') {
      for (const [name, value] of Object.entries(raw as Record<string, unknown>)) addField(headers, name, value);
    }
    const authority = headers['host'];
    delete headers['host'];
    const scheme = headers[UPSTREAM_SCHEME_HEADER];
    delete headers[UPSTREAM_SCHEME_HEADER];
    headers[':method'] = method;
    headers[':path'] = path;
    headers[':scheme'] = typeof scheme === 'string' ? scheme : 'http';
    headers[':authority'] = typeof authority === 'string' ? authority : defaultAuthority;
    this.body = bodyOf(options.body);
    if (Buffer.isBuffer(this.body)) headers['content-length'] = String(this.body.length);
    else if (this.body === null && expectsPayload(method)) headers['content-length'] = '0';
    // An empty body ends with the headers (a declared-empty stream body is not read).
    this.endStream = this.body === null || headers['content-length'] === '0';
    this.headers = headers;
  }
}

function addField(headers: http2.OutgoingHttpHeaders, rawName: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof rawName !== 'string' || !FIELD_NAME_TOKEN.test(rawName)) throw invalid('header name');
  const name = rawName.toLowerCase();
  if (CONNECTION_SPECIFIC.has(name)) throw invalid(`${name} header`);
  if (Array.isArray(value)) {
    for (const v of value) addValue(headers, name, v as unknown);
    return;
  }
  addValue(headers, name, value);
}

function addValue(headers: http2.OutgoingHttpHeaders, name: string, raw: unknown): void {
  const value = raw === null ? '' : typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  if (value === undefined || INVALID_FIELD_VALUE.test(value)) throw invalid(`${name} header value`);
  // HTTP/2 allows `te: trailers` only (RFC 9113 §8.2.2): keep that, drop other codings.
  if (name === 'te') {
    if (value.toLowerCase().split(',').some((t) => t.trim() === 'trailers')) headers['te'] = 'trailers';
    return;
  }
  const prev = headers[name];
  if (prev === undefined) headers[name] = value;
  else if (name === 'cookie') headers[name] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  else if (name === 'host' || name === 'content-length') throw invalid(`duplicate ${name} header`);
  else headers[name] = `${String(prev)}, ${value}`;
}

function bodyOf(body: Dispatcher.DispatchOptions['body']): H2Body {
  return upstreamBodyOf(body, invalid);
}
