/**
 * The downstream side of an HTTP exchange: Node's HTTP/1.1 and HTTP/2 (compat) request and
 * response objects, and the request context built from a request as Envoy's HCM would see it
 * (`x-request-id` generated when absent, `x-forwarded-proto` set when absent).
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type { DestinationInfo, SourceInfo } from '../filter/api.js';
import { HeaderMap } from '../filter/header-map.js';
import { HttpRequestContext } from '../filter/request-context.js';
import { DownstreamBody } from './downstream-body.js';

export type DownstreamRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type DownstreamResponse = http.ServerResponse | http2.Http2ServerResponse;

/** The calls made on either response type (their overloads differ, their behaviour does not). */
export interface ResponseWriter {
  writeHead(status: number, headers: OutgoingHttpHeaders | string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: string): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  getHeaderNames(): string[];
  removeHeader(name: string): void;
  destroy(err?: Error): unknown;
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
}

export function requestContextOf(
  req: DownstreamRequest,
  protocol: 'HTTP/1.1' | 'HTTP/2',
  source: SourceInfo,
  destination: DestinationInfo,
): HttpRequestContext {
  // From the raw field list, not Node's `headers` object: that one joins repeated fields with
  // `, `, and authorization must see each value (Envoy matches them joined with `,`).
  const headers = HeaderMap.fromRaw(req.rawHeaders);
  let requestId = headers.get('x-request-id');
  if (!requestId) {
    requestId = randomUUID();
    headers.set('x-request-id', requestId);
  }
  if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', 'http');
  const authority = (protocol === 'HTTP/2' ? req.headers[':authority'] : req.headers.host) ?? destination.connectAuthority;
  const ctx = new HttpRequestContext({
    method: req.method ?? 'GET',
    authority: String(authority),
    path: req.url ?? '/',
    protocol,
    headers,
    requestId,
    source,
    destination,
  });
  // Only ext_authz with `includeRequestBodyInCheck` reads it; one small object per body request.
  if (!isBodyless(req, protocol)) ctx.body = new DownstreamBody(req);
  return ctx;
}

/** True when the request carries no body (so none is sent upstream). */
export function isBodyless(req: DownstreamRequest, protocol: 'HTTP/1.1' | 'HTTP/2'): boolean {
  if (protocol === 'HTTP/2') return (req as http2.Http2ServerRequest).stream.endAfterHeaders;
  return req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
}
