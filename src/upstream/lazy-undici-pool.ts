/**
 * The HTTP/2 upstream pool of one endpoint: an undici `Pool` speaking h2c inside the tunnel.
 * undici is loaded on the first HTTP/2 request (`import('undici')`), so a waypoint without
 * HTTP/2 ports never pays its start-up time and memory; requests dispatched while it loads wait.
 */
const { PassThrough, Readable } = process.getBuiltinModule('node:stream');
type PassThrough = import('node:stream').PassThrough;
type Readable = import('node:stream').Readable;
import type { Dispatcher, Pool, buildConnector } from 'undici';
import { REQUEST_TRAILERS, sendRequestTrailers } from './h2-request-trailers.js';

type TaggedBody = Readable & { [REQUEST_TRAILERS]?: unknown };

/**
 * undici destroys a body stream that does not destroy itself once it has ended
 * (`autoDestroy: false`), and an inner HTTP/2 request's body is its `ServerHttp2Stream`, whose
 * writable side is the response still to be sent: destroying it resets the client's stream. Such a
 * body goes to undici through a PassThrough it may destroy at will (errors and premature closes
 * of the source still end it).
 */
function detachedBody(body: Dispatcher.DispatchOptions['body']): Dispatcher.DispatchOptions['body'] {
  if (!(body instanceof Readable) || (body as Readable & { _readableState?: { autoDestroy?: boolean } })._readableState?.autoDestroy !== false) return body;
  const src = body as TaggedBody;
  const out = new PassThrough() as PassThrough & TaggedBody;
  if (src[REQUEST_TRAILERS] !== undefined) out[REQUEST_TRAILERS] = src[REQUEST_TRAILERS];
  src.once('error', (err) => out.destroy(err));
  src.once('close', () => {
    if (!src.readableEnded) out.destroy(new Error('the downstream request was aborted'));
  });
  src.pipe(out);
  return out;
}

export interface UndiciPoolOptions {
  readonly connect: buildConnector.connector;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number | undefined;
  readonly maxRequestsPerConnection: number | undefined;
}

let undici: Promise<typeof import('undici')> | undefined;

export class LazyUndiciPool {
  private pool: Pool | undefined;
  private waiting: [Dispatcher.DispatchOptions, Dispatcher.DispatchHandler][] | undefined;
  private ended: 'close' | 'destroy' | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly origin: string,
    private readonly opts: UndiciPoolOptions,
  ) {}

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): void {
    if (options.body instanceof Readable) options = { ...options, body: detachedBody(options.body) };
    if (this.pool) {
      this.pool.dispatch(options, handler);
      return;
    }
    if (this.ended) {
      handler.onError?.(new Error('upstream pool closed'));
      return;
    }
    if (this.waiting) {
      this.waiting.push([options, handler]);
      return;
    }
    this.waiting = [[options, handler]];
    undici ??= import('undici');
    this.loading = undici.then(
      (mod) => this.loaded(mod),
      (err: unknown) => this.failWaiting(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Closes once in-flight requests are done (including those waiting for undici to load). */
  async close(): Promise<void> {
    this.ended ??= 'close';
    await this.loading;
    await this.pool?.close();
  }

  async destroy(): Promise<void> {
    this.ended = 'destroy';
    await this.loading;
    await this.pool?.destroy();
  }

  private loaded(mod: typeof import('undici')): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    if (this.ended === 'destroy') {
      this.failWaiting(new Error('upstream pool destroyed'), waiting);
      return;
    }
    const o = this.opts;
    const pool = new mod.Pool(this.origin, {
      connect: o.connect,
      allowH2: true,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      ...(o.maxConnections !== undefined ? { connections: o.maxConnections } : {}),
      ...(o.maxRequestsPerConnection !== undefined ? { maxRequestsPerClient: o.maxRequestsPerConnection } : {}),
      // Istio's default route has no timeouts; the retry/timeout issue sets them per route.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    sendRequestTrailers(pool);
    this.pool = pool;
    for (const [options, handler] of waiting) pool.dispatch(options, handler);
  }

  private failWaiting(err: Error, waiting = this.waiting ?? []): void {
    this.waiting = undefined;
    for (const [, handler] of waiting) handler.onError?.(err);
  }
}
