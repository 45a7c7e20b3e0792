/**
 * One HTTP/1.1 request as the upstream client sends it: validated and serialised at dispatch
 * (so a request that cannot be written is refused before any byte leaves, as undici did), with
 * its head written later on whichever connection it gets.
 *
 * The head follows undici's layout (so upstreams see the same bytes as before): request line,
 * `host`, `connection`, the caller's fields in order, then the framing: `content-length` when the
 * body length is known, `transfer-encoding: chunked` for a stream without one, nothing for a
 * bodyless method that expects no payload. Request trailers are not sent on HTTP/1.1 (undici
 * never did; the HTTP/2 path sends them, h2-request-trailers.ts).
 */
import type { Dispatcher } from 'undici';
import { upstreamBodyOf } from '../request-body.js';
import type { UpstreamBody } from '../request-body.js';
import { FIELD_NAME_TOKEN, INVALID_FIELD_VALUE, INVALID_REQUEST_PATH } from '../request-field-syntax.js';
import { UpstreamH1Error } from './h1-error.js';

/** A request body the client can send. */
export type H1Body = UpstreamBody;

function invalid(what: string): UpstreamH1Error {
  return new UpstreamH1Error('H1_INVALID_REQUEST', `invalid upstream request: ${what}`);
}

/** Methods whose requests carry a payload (an empty body still gets `content-length: 0`). */
function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'QUERY' || method === 'PROPFIND' || method === 'PROPPATCH';
}

export class H1Request {
  readonly method: string;
  readonly body: H1Body;
  /** Body length when known up front (a Buffer, or a stream with a valid `content-length`). */
  readonly contentLength: number | null;
  readonly expectsPayload: boolean;
  /** The caller asked for `connection: close`. */
  readonly closeRequested: boolean;
  /** Request line start and fields, without `connection` and framing. */
  private readonly requestLine: string;
  private readonly fields: string;

  constructor(
    options: Dispatcher.DispatchOptions,
    readonly handler: Dispatcher.DispatchHandler,
    defaultHost: string,
  ) {
    const { method, path } = options;
    if (typeof method !== 'string' || !FIELD_NAME_TOKEN.test(method)) throw invalid('method');
    // Origin-form, or `OPTIONS *` (asterisk-form, RFC 9112 §3.2.4: forwarded as Envoy forwards it).
    const asterisk = path === '*' && method === 'OPTIONS';
    if (typeof path !== 'string' || (path.charCodeAt(0) !== 0x2f && !asterisk) || INVALID_REQUEST_PATH.test(path)) throw invalid('path');
    this.method = method;
    this.expectsPayload = expectsPayload(method);
    const state: FieldState = { host: undefined, contentLength: null, close: false, fields: '' };
    const headers = options.headers;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) addField(state, headers[i] as string, headers[i + 1]);
    } else if (headers && typeof headers === 'object') {
      for (const [name, value] of Object.entries(headers as Record<string, unknown>)) addField(state, name, value);
    }
    this.closeRequested = state.close;
    this.requestLine = `${method} ${path} HTTP/1.1\r\nhost: ${state.host ?? defaultHost}\r\n`;
    this.fields = state.fields;
    this.body = bodyOf(options.body);
    if (this.body === null) this.contentLength = 0;
    else if (Buffer.isBuffer(this.body)) this.contentLength = this.body.length;
    else this.contentLength = state.contentLength;
  }

  /** Reports body bytes written (undici 7 passes the chunk, whatever its typings say). */
  bodySent(chunk: Buffer): void {
    (this.handler as BodySentHandler).onBodySent?.(chunk);
  }

  /** The head up to and including the framing fields, and the empty line unless chunked. */
  head(keepAlive: boolean, framing: string): string {
    return `${this.requestLine}${keepAlive ? 'connection: keep-alive\r\n' : 'connection: close\r\n'}${this.fields}${framing}`;
  }

  /** The framing of a body of `length` bytes (`null`: chunked) ending the head. */
  framing(length: number | null): string {
    if (length === null) return 'transfer-encoding: chunked\r\n\r\n';
    if (length === 0 && !this.expectsPayload) return '\r\n';
    return `content-length: ${length}\r\n\r\n`;
  }
}

interface BodySentHandler {
  onBodySent?(chunk: Buffer): void;
}

interface FieldState {
  host: string | undefined;
  contentLength: number | null;
  close: boolean;
  fields: string;
}

function addField(state: FieldState, name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof name !== 'string' || !FIELD_NAME_TOKEN.test(name)) throw invalid('header name');
  if (Array.isArray(value)) {
    for (const v of value) addValue(state, name, v as unknown);
    return;
  }
  addValue(state, name, value);
}

function addValue(state: FieldState, name: string, raw: unknown): void {
  const value = raw === null ? '' : typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
  if (value === undefined || INVALID_FIELD_VALUE.test(value)) throw invalid(`${name} header value`);
  // Only the names the client owns need a case-insensitive look (switch on length first).
  switch (name.length) {
    case 4:
      if (name.toLowerCase() === 'host') {
        if (state.host !== undefined) throw invalid('duplicate host header');
        state.host = value;
        return;
      }
      break;
    case 6:
      if (name.toLowerCase() === 'expect') throw invalid('expect header');
      break;
    case 7:
      if (name.toLowerCase() === 'upgrade') throw invalid('upgrade header');
      break;
    case 10: {
      const lower = name.toLowerCase();
      if (lower === 'keep-alive') throw invalid('keep-alive header');
      if (lower === 'connection') {
        for (const t of value.toLowerCase().split(',')) {
          const token = t.trim();
          if (!FIELD_NAME_TOKEN.test(token)) throw invalid('connection header');
          if (token === 'close') state.close = true;
        }
        return;
      }
      break;
    }
    case 14:
      if (name.toLowerCase() === 'content-length') {
        if (state.contentLength !== null) throw invalid('duplicate content-length header');
        if (!/^\d{1,15}$/.test(value)) throw invalid('content-length header');
        state.contentLength = Number(value);
        return;
      }
      break;
    case 17:
      if (name.toLowerCase() === 'transfer-encoding') throw invalid('transfer-encoding header');
      break;
    default:
      break;
  }
  state.fields += `${name}: ${value}\r\n`;
}

function bodyOf(body: Dispatcher.DispatchOptions['body']): H1Body {
  return upstreamBodyOf(body, invalid);
}
