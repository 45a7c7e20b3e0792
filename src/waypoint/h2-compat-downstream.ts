/**
 * Inner HTTP/2 requests as a {@link DownstreamExchange}, over Node's HTTP/2 compat request and
 * response objects. A bridge: inner HTTP/2 is moving to the session/stream API (branch
 * `h2-inner`), which will implement the same interface directly; until then this keeps the
 * HTTP/2 path behaving exactly as before while the exchange no longer knows Node's objects.
 */
import type http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { HeaderMap } from '../filter/header-map.js';
import type { DownstreamEvents, DownstreamExchange } from './downstream-exchange.js';

const kDown = Symbol('h2CompatDownstream');
type Tagged = { [kDown]?: H2CompatDownstream };

function onResponseClose(this: Tagged): void {
  const d = this[kDown];
  this[kDown] = undefined;
  d?.closedNow();
}

function onResponseDrain(this: Tagged): void {
  this[kDown]?.events?.downstreamDrain();
}

function onStreamIdle(this: Tagged): void {
  this[kDown]?.events?.downstreamIdle();
}

/** A flat `[name, value, ...]` list as the object Node's HTTP/2 API takes. */
function headerObject(list: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else out[name] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  return out;
}

export class H2CompatDownstream implements DownstreamExchange {
  readonly protocol = 'HTTP/2' as const;
  readonly method: string;
  readonly target: string;
  readonly authority: string | undefined;
  readonly headers: HeaderMap;
  readonly bodyless: boolean;
  readonly body: Readable | null;
  /** @internal */
  events: DownstreamEvents | undefined;

  constructor(
    private readonly req: http2.Http2ServerRequest,
    private readonly res: http2.Http2ServerResponse,
    private readonly streamIdleMs: number,
  ) {
    this.method = req.method ?? 'GET';
    this.target = req.url ?? '/';
    const a = req.headers[':authority'] ?? req.headers.host;
    this.authority = a === undefined ? undefined : String(a);
    this.headers = HeaderMap.fromNode(req.headers);
    this.bodyless = req.stream.endAfterHeaders;
    this.body = this.bodyless ? null : req;
  }

  get complete(): boolean {
    return this.bodyless || this.req.complete;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  trailers(): HeaderMap | undefined {
    const raw = this.req.trailers as Readonly<Record<string, string | string[] | undefined>> | undefined;
    if (!raw) return undefined;
    for (const name in raw) if (Object.hasOwn(raw, name)) return HeaderMap.fromNode(raw);
    return undefined;
  }

  attach(events: DownstreamEvents): void {
    this.events = events;
    // Listeners are shared module functions finding their adapter on the object: no closure
    // per request.
    (this.res as unknown as Tagged)[kDown] = this;
    this.res.on('close', onResponseClose);
    this.res.on('drain', onResponseDrain);
    if (this.streamIdleMs > 0 && Number.isFinite(this.streamIdleMs)) {
      (this.res.stream as unknown as Tagged)[kDown] = this;
      this.res.setTimeout(this.streamIdleMs, onStreamIdle);
    }
  }

  /** @internal */
  closedNow(): void {
    const events = this.events;
    this.events = undefined;
    events?.downstreamClosed(this.res.writableFinished);
  }

  writeHead(status: number, headers: readonly string[]): boolean {
    try {
      this.res.writeHead(status, headerObject(headers));
      return true;
    } catch {
      for (const name of this.res.getHeaderNames()) this.res.removeHeader(name);
      return false;
    }
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  end(trailers?: readonly string[]): boolean {
    if (trailers && trailers.length > 0) {
      try {
        this.res.addTrailers(headerObject(trailers));
      } catch {
        this.reset();
        return false;
      }
    }
    this.res.end();
    return true;
  }

  respond(status: number, headers: readonly string[], body: string): boolean {
    if (!this.writeHead(status, headers)) return false;
    this.res.end(body);
    return true;
  }

  reset(): void {
    this.res.destroy(new Error('stream reset by the waypoint'));
  }
}
