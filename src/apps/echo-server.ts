/**
 * The built-in `echo` demo app: answers every HTTP request with a JSON report of what it received
 * (method, path, headers, body size and hash, protocol) and who sent it (peer address, and the
 * mesh identity that address belongs to), so tests and people can see exactly what crossed the
 * mesh. HTTP/1.1 and HTTP/2 prior knowledge on the same port; a port named `tcp*` is a raw echo.
 *
 * Special requests, for tests and demos:
 * - `POST /echo-body`: streams the request body back instead of the JSON report.
 * - `GET /bytes/<n>`: answers with n bytes (a repeating pattern).
 * - header `x-echo-status: <code>`: answers with that status (with `x-echo-status-pod: <ns/name>`,
 *   only that pod does).
 * - header `x-echo-delay-ms: <ms>`: waits before answering (bounded to 60 s).
 * - `content-type: application/grpc*`: a gRPC-shaped echo: the request's message frames come
 *   back as they are, then trailers `grpc-status: 0` (or the `x-echo-grpc-status` header's value).
 * - header `x-echo-trailers: <name>=<value>[;<name>=<value>...]`: the JSON report ends with those
 *   response trailers (HTTP/2; on HTTP/1.1 the report is then chunked). Request trailers the
 *   echo received are in the report's `trailers`.
 * - header `x-echo-fail: <key>,<n>,<how>`: the first n requests carrying that key (counted across
 *   every echo of this process, so retries to other pods count too) fail after their body was
 *   read — `how` is a status code (`503`), `reset` (connection/stream reset), `refused` (HTTP/2
 *   REFUSED_STREAM), `hang` (no answer at all) or `grpc-<code>` (trailers-only gRPC status) — and later ones are answered
 *   normally with `x-echo-attempts` (requests seen for the key) and `x-echo-failed-pods`.
 * - header `x-echo-progress: <key>` on `GET /bytes/<n>`: how many of the n bytes the response
 *   stream has accepted so far is readable in-process with {@link echoProgress} (backpressure
 *   tests: a stalled reader must stop the app from writing).
 */
const { createHash } = process.getBuiltinModule('node:crypto');
const http = process.getBuiltinModule('node:http');
declare namespace http { export type IncomingMessage = import('node:http').IncomingMessage; export type OutgoingHttpHeaders = import('node:http').OutgoingHttpHeaders; }
const http2 = process.getBuiltinModule('node:http2');
declare namespace http2 { export type Http2ServerRequest = import('node:http2').Http2ServerRequest; }
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ViewSource } from '../state/view-source.js';
import { unmapV4 } from '../net/cidr.js';
import { closeTcpServer, createTcpServer, listenTcp } from '../net/sockets.js';

export interface EchoReport {
  readonly app: 'echo';
  /** `namespace/name` of the pod this echo runs as. */
  readonly pod: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** `:scheme` (HTTP/2 only). */
  readonly scheme?: string;
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: { readonly bytes: number; readonly sha256: string };
  /** Request trailers received (only when there were some). */
  readonly trailers?: Readonly<Record<string, string | string[]>>;
  readonly peer: {
    readonly address: string;
    readonly port: number;
    /** The mesh identity owning the peer address (a waypoint or a pod), when the view knows it. */
    readonly identity?: string;
    readonly name?: string;
  };
  readonly local: { readonly address: string; readonly port: number };
}

export interface EchoServerOptions {
  readonly pod: string;
  readonly host: string;
  readonly port: number;
  /** Raw TCP echo instead of HTTP. */
  readonly tcp?: boolean;
  /** Used to name the identity behind a peer address in reports. */
  readonly view?: ViewSource;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');


/**
 * The calls the echo app makes on either protocol's response. Node 24's typings give
 * `ServerResponse | Http2ServerResponse` overloads that cannot be called through the union.
 */
type EchoResponse = import('node:http').ServerResponse & {
  writeHead(status: number, headers?: http.OutgoingHttpHeaders): unknown;
};

/** `x-echo-fail` keys → requests seen and pods that failed them (process-wide, test-only mode). */
const failing = new Map<string, { seen: number; failedPods: string[] }>();
const MAX_FAIL_KEYS = 10_000;
const MAX_DELAY_MS = 60_000;
const PATTERN = Buffer.alloc(64 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789');
/** `x-echo-progress` keys → bytes of a `/bytes/<n>` answer accepted so far (process-wide, test-only). */
const progress = new Map<string, number>();
const MAX_PROGRESS_KEYS = 1000;

/** Bytes the `/bytes/<n>` answer tagged `x-echo-progress: key` has written so far (0 if unknown). */
export function echoProgress(key: string): number {
  return progress.get(key) ?? 0;
}

export class EchoServer {
  private readonly server: net.Server;
  private readonly h1 = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => this.handle(req, res));
  private readonly h2 = http2.createServer({}, (req, res) => this.handle(req, res as unknown as EchoResponse));
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: EchoServerOptions) {
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      if (opts.tcp) {
        socket.pipe(socket);
        return;
      }
      this.dispatch(socket);
    });
    this.h2.on('sessionError', () => undefined);
  }

  async start(): Promise<net.AddressInfo> {
    return listenTcp(this.server, this.opts.host, this.opts.port);
  }

  async close(deadlineMs = 1000): Promise<void> {
    const closing = closeTcpServer(this.server, deadlineMs);
    this.h1.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, deadlineMs);
    timer.unref();
    await closing;
    for (const s of this.sockets) s.destroy();
    clearTimeout(timer);
  }

  /** Peeks at the first bytes to choose HTTP/2 prior knowledge or HTTP/1.1. */
  private dispatch(socket: net.Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2Prefix = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2Prefix && head.length < H2_PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      (isH2Prefix ? this.h2 : this.h1).emit('connection', socket);
      // The HTTP/2 session reads the socket natively and takes the put-back bytes itself on the
      // next tick; resuming now would flush them as 'data' events nobody listens to.
      if (!isH2Prefix) socket.resume();
    };
    socket.on('data', onData);
  }

  private handle(req: http.IncomingMessage | http2.Http2ServerRequest, res: EchoResponse): void {
    const path = req.url ?? '/';
    const statusPod = header(req, 'x-echo-status-pod');
    const status = statusPod === undefined || statusPod === this.opts.pod ? clampStatus(header(req, 'x-echo-status')) : 200;
    const delay = Math.min(Number(header(req, 'x-echo-delay-ms') ?? 0) || 0, MAX_DELAY_MS);
    const reply = (fn: () => void): void => {
      if (delay > 0) setTimeout(fn, delay);
      else fn();
    };
    const stream = req as unknown as Duplex;
    const fail = header(req, 'x-echo-fail');
    if (fail !== undefined && this.failOnPurpose(fail, req, res, stream)) return;
    if (header(req, 'content-type')?.startsWith('application/grpc')) {
      echoGrpc(stream, res, header(req, 'x-echo-grpc-status') ?? '0', this.opts.pod);
      return;
    }
    if (req.method === 'POST' && path.startsWith('/echo-body')) {
      res.writeHead(status, { 'content-type': 'application/octet-stream', 'x-echo-pod': this.opts.pod });
      stream.pipe(res);
      return;
    }
    const bytesMatch = /^\/bytes\/(\d+)/.exec(path);
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    stream.on('end', () =>
      reply(() => {
        if (bytesMatch) {
          sendBytes(res, status, Number(bytesMatch[1]), this.opts.pod, header(req, 'x-echo-progress'));
          return;
        }
        const body = JSON.stringify(this.report(req, path, bytes, hash.digest('hex')), null, 2) + '\n';
        const trailers = responseTrailers(header(req, 'x-echo-trailers'));
        res.writeHead(status, {
          'content-type': 'application/json',
          // Trailers need chunked encoding on HTTP/1.1.
          ...(trailers ? {} : { 'content-length': Buffer.byteLength(body) }),
          'x-echo-pod': this.opts.pod,
        });
        if (trailers) {
          res.addTrailers(trailers);
          (res as import('node:http').ServerResponse).end(body);
        } else res.end(body);
      }),
    );
  }

  /**
   * The `x-echo-fail` mode: true when this request is one of the first n of its key (it then
   * fails once its body is read); false to answer normally (with the key's counts).
   */
  private failOnPurpose(spec: string, req: http.IncomingMessage | http2.Http2ServerRequest, res: EchoResponse, stream: Duplex): boolean {
    const [key = '', timesText = '0', how = '503'] = spec.split(',').map((p) => p.trim());
    let state = failing.get(key);
    if (!state) {
      if (failing.size >= MAX_FAIL_KEYS) failing.clear();
      failing.set(key, (state = { seen: 0, failedPods: [] }));
    }
    state.seen++;
    if (state.seen > Number(timesText)) {
      res.setHeader('x-echo-attempts', String(state.seen));
      res.setHeader('x-echo-failed-pods', state.failedPods.join(','));
      return false;
    }
    state.failedPods.push(this.opts.pod);
    stream.resume();
    stream.on('end', () => {
      if (how === 'reset') {
        if (req.httpVersionMajor === 2) (res as unknown as import('node:http2').Http2ServerResponse).stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        else req.socket.destroy();
      } else if (how === 'refused' && req.httpVersionMajor === 2) {
        (res as unknown as import('node:http2').Http2ServerResponse).stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      } else if (how === 'hang') {
        // Never answers: the caller's timeout ends the exchange (and closes this stream).
      } else if (how.startsWith('grpc-')) {
        res.writeHead(200, { 'content-type': 'application/grpc', 'grpc-status': how.slice(5), 'x-echo-pod': this.opts.pod, 'x-echo-failing': 'true' });
        res.end();
      } else {
        const body = 'failing on purpose\n';
        res.writeHead(clampStatus(how), {
          'content-type': 'text/plain',
          'content-length': Buffer.byteLength(body),
          'x-echo-pod': this.opts.pod,
          'x-echo-failing': 'true',
        });
        res.end(body);
      }
    });
    return true;
  }

  private report(req: http.IncomingMessage | http2.Http2ServerRequest, path: string, bytes: number, sha256: string): EchoReport {
    const socket = req.socket;
    const address = unmapV4(socket.remoteAddress ?? '');
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !k.startsWith(':')) headers[k] = v;
    const trailers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.trailers ?? {})) if (v !== undefined && !k.startsWith(':')) trailers[k] = v;
    const isH2 = req.httpVersionMajor === 2;
    const authority = (isH2 ? header(req, ':authority') : header(req, 'host')) ?? '';
    return {
      app: 'echo',
      pod: this.opts.pod,
      protocol: isH2 ? 'HTTP/2' : 'HTTP/1.1',
      method: req.method ?? '',
      path,
      authority,
      ...(isH2 ? { scheme: header(req, ':scheme') ?? '' } : {}),
      headers,
      body: { bytes, sha256 },
      ...(Object.keys(trailers).length > 0 ? { trailers } : {}),
      peer: { address, port: socket.remotePort ?? 0, ...this.whoIs(address) },
      local: { address: unmapV4(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    };
  }

  private whoIs(address: string): { identity?: string; name?: string } {
    const view = this.opts.view?.current();
    if (!view) return {};
    const wp = view.waypointByAddress(address);
    if (wp) return { identity: wp.identity, name: `${wp.namespace}/${wp.name}` };
    const w = view.workloadByIp(address);
    if (w) return { identity: w.identity, name: `${w.namespace}/${w.name}` };
    return {};
  }
}

function header(req: http.IncomingMessage | http2.Http2ServerRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `a=1;b=2` → response trailers (at most 16), or undefined. */
function responseTrailers(spec: string | undefined): Record<string, string> | undefined {
  if (!spec) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const part of spec.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || ++n > 16) continue;
    out[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return n > 0 ? out : undefined;
}

function clampStatus(v: string | undefined): number {
  const n = Number(v);
  return Number.isInteger(n) && n >= 200 && n <= 599 ? n : 200;
}


/** Echoes the request's frames, then ends with gRPC status trailers (HTTP/2; chunked on HTTP/1.1). */
function echoGrpc(stream: Duplex, res: EchoResponse, status: string, pod: string): void {
  res.writeHead(200, { 'content-type': 'application/grpc', 'x-echo-pod': pod });
  stream.pipe(res, { end: false });
  stream.on('end', () => {
    res.addTrailers({ 'grpc-status': status });
    res.end();
  });
}

/** Streams n pattern bytes with backpressure. */
function sendBytes(res: EchoResponse, status: number, n: number, pod: string, progressKey?: string): void {
  if (progressKey !== undefined && (progress.size < MAX_PROGRESS_KEYS || progress.has(progressKey))) progress.set(progressKey, 0);
  const track = progressKey !== undefined && progress.has(progressKey);
  res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': n, 'x-echo-pod': pod });
  const w = res as unknown as NodeJS.WritableStream & { once(ev: 'drain', fn: () => void): void };
  let left = n;
  const pump = (): void => {
    while (left > 0) {
      const chunk = PATTERN.subarray(0, Math.min(left, PATTERN.length));
      left -= chunk.length;
      if (track) progress.set(progressKey, n - left);
      if (!w.write(chunk)) {
        w.once('drain', pump);
        return;
      }
    }
    w.end();
  };
  pump();
}
