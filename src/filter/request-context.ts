/**
 * The concrete request context the engine builds per request, and that filter unit tests build
 * directly. Plain classes with fields, so a request costs one allocation each, no closures.
 */
import type { Readable } from 'node:stream';
import type { DestinationInfo, RequestBodyAccess, RequestContext, SourceInfo, StreamInfo } from './api.js';
import type { HeaderMap } from './header-map.js';

export class StreamInfoState implements StreamInfo {
  private flags: string[] | undefined;
  private state: Map<string, unknown> | undefined;
  responseCodeDetails?: string;
  routeName?: string;
  upstreamHost?: string;
  upstreamCluster?: string;

  get responseFlags(): readonly string[] {
    return this.flags ?? NO_FLAGS;
  }

  addResponseFlag(flag: string): void {
    if (!this.flags) this.flags = [flag];
    else if (!this.flags.includes(flag)) this.flags.push(flag);
  }

  filterState(): Map<string, unknown> {
    return (this.state ??= new Map<string, unknown>());
  }
}

const NO_FLAGS: readonly string[] = Object.freeze([]);

export interface RequestContextInit {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly scheme?: 'http' | 'https';
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly headers: HeaderMap;
  readonly requestId: string;
  readonly source: SourceInfo;
  readonly destination: DestinationInfo;
  readonly startTime?: number;
}

/** The engine's side of {@link RequestBodyAccess}: the body to forward once some was read ahead. */
export interface ReplayableBody extends RequestBodyAccess {
  /** The whole body (read-ahead bytes first); `undefined` when nothing was read ahead. */
  replay(): Readable | undefined;
}

/** The engine's side of {@link RequestContext.addTrailers}. */
export interface TrailerSink {
  add(): HeaderMap | undefined;
}

export class HttpRequestContext implements RequestContext {
  method: string;
  authority: string;
  path: string;
  scheme: 'http' | 'https';
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly headers: HeaderMap;
  readonly requestId: string;
  readonly source: SourceInfo;
  readonly destination: DestinationInfo;
  readonly streamInfo = new StreamInfoState();
  readonly startTime: number;
  body?: ReplayableBody;
  /** Set by the engine for requests with a body: where added trailers go. */
  trailerSink?: TrailerSink;

  constructor(init: RequestContextInit) {
    this.method = init.method;
    this.authority = init.authority;
    this.path = init.path;
    this.scheme = init.scheme ?? 'http';
    this.protocol = init.protocol;
    this.headers = init.headers;
    this.requestId = init.requestId;
    this.source = init.source;
    this.destination = init.destination;
    this.startTime = init.startTime ?? Date.now();
  }

  addTrailers(): HeaderMap | undefined {
    return this.trailerSink?.add();
  }
}
