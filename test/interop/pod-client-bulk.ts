/**
 * The pod client's bulk and trailer modes (run inside a pod's network namespace, through Istio's
 * ztunnel's SOCKS5 port): a large body sent to the echo's `POST /echo-body` and streamed back,
 * hashed on both sides here, so a test can say the bytes crossed Istio ztunnel → our waypoint →
 * Istio ztunnel → app and back intact; and HTTP/2 request and response trailers end to end.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';

export interface BulkResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly sent?: { readonly bytes: number; readonly sha256: string };
  readonly got?: { readonly bytes: number; readonly sha256: string };
  readonly error?: string;
}

export interface TrailersResult {
  readonly ok: boolean;
  readonly status?: number;
  /** Response trailers the client received. */
  readonly trailers?: Record<string, string>;
  /** The echo's JSON report (it lists the request trailers it received). */
  readonly report?: unknown;
  readonly error?: string;
}

const CHUNK = 64 * 1024;

/** Writes `total` random bytes to `out` with backpressure, then ends it; resolves their hash. */
async function pump(out: Writable, total: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let left = total;
  while (left > 0) {
    const chunk = randomBytes(Math.min(CHUNK, left));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  out.end();
  return { bytes: total, sha256: hash.digest('hex') };
}

/** `POST /echo-body` with `total` bytes over HTTP/1.1 or HTTP/2 prior knowledge; both directions hashed. */
export async function bulk(socket: Socket, host: string, port: number, total: number, h2: boolean): Promise<BulkResult> {
  const hash = createHash('sha256');
  let got = 0;
  const onData = (c: Buffer): void => {
    hash.update(c);
    got += c.length;
  };
  const received = (): { bytes: number; sha256: string } => ({ bytes: got, sha256: hash.digest('hex') });
  if (!h2) {
    return new Promise((resolve) => {
      const req = http.request({ host, port, method: 'POST', path: '/echo-body', createConnection: () => socket, headers: { connection: 'close', 'content-length': String(total) } });
      req.on('response', (res: http.IncomingMessage) => {
        res.on('data', onData);
        res.on('end', () => void sent.then((s) => resolve({ ok: true, status: res.statusCode ?? 0, sent: s, got: received() })));
        res.on('error', (e) => resolve({ ok: false, error: e.message }));
      });
      req.on('error', (e) => resolve({ ok: false, error: e.message }));
      const sent = pump(req, total);
    });
  }
  return new Promise((resolve) => {
    const session = http2.connect(`http://${host}:${port}`, { createConnection: () => socket });
    session.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
    const stream = session.request({ ':method': 'POST', ':path': '/echo-body', 'content-length': String(total) });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', onData);
    stream.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
    const sent = pump(stream, total);
    stream.on('end', () => {
      session.close();
      void sent.then((s) => resolve({ ok: true, status, sent: s, got: received() }));
    });
  });
}

/** HTTP/2 POST with request trailers (unless told not to), asking the echo (`x-echo-trailers`) for response trailers. */
export async function h2Trailers(socket: Socket, host: string, port: number, requestTrailers = true): Promise<TrailersResult> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${host}:${port}`, { createConnection: () => socket });
    session.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
    const stream = session.request({ ':method': 'POST', ':path': '/trailers', te: 'trailers', 'x-echo-trailers': 'x-resp-trailer=from-app' }, { waitForTrailers: requestTrailers });
    let status = 0;
    let trailers: Record<string, string> = {};
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, String(v)]));
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-req-trailer': 'from-client' }));
    stream.on('end', () => {
      session.close();
      let report: unknown;
      try {
        report = JSON.parse(body) as unknown;
      } catch {
        report = body;
      }
      resolve({ ok: true, status, trailers, report });
    });
    stream.end('request body');
  });
}
