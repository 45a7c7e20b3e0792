/**
 * The downstream side of an exchange's response: upstream headers, body and trailers through the
 * response-path filters (in reverse), local replies (Envoy's `sendLocalReply`, as gRPC
 * trailers-only replies for gRPC clients), a reset when nothing better is left, and the access
 * record at the end. It writes; the exchange ({@link RelayOwner}) decides.
 */
import type { FilterResult, LocalReply } from '../filter/api.js';
import { isAsync } from '../filter/api.js';
import type { HeaderMap } from '../filter/header-map.js';
import { isHeaderName, isHeaderValue } from '../config/from-k8s/header-field.js';
import type { ChainRun } from '../filter/chain.js';
import type { HttpRequestContext } from '../filter/request-context.js';
import type { AccessRecord } from '../telemetry/access-record.js';
import type { GrpcStats } from '../telemetry/grpc-stats.js';
import type { DownstreamExchange } from './downstream-exchange.js';
import { exchangeRecord } from './exchange-record.js';
import { failureReply, localResponse } from './local-reply.js';
import type { ResponseState } from './local-reply.js';
import { grpcLocalResponse, isGrpcRequest } from './grpc-local-reply.js';
import { downstreamResponseHeaderList, downstreamTrailerList, upstreamTrailersOf } from './proxy-headers.js';

/** What the relay needs from its exchange. */
export interface RelayOwner {
  /** The exchange is over (access record written). */
  readonly finished: boolean;
  /** The upstream response is being relayed. */
  readonly streaming: boolean;
  stopUpstream(reason: string): void;
  resumeUpstream(): void;
  sendLocal(reply: LocalReply): void;
  markLocal(): void;
  onInternalError(): void;
}

/** Fields of the access record only the exchange knows. */
export interface RecordExtras {
  readonly bytesReceived: number;
  readonly destinationPrincipal: string | undefined;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
}

const EMPTY = Buffer.alloc(0);

/** True when every name is a token and every value a legal field value (what both codecs can write). */
function writableHeaders(headers: HeaderMap): boolean {
  for (const [name, value] of headers) {
    if (!isHeaderName(name)) return false;
    if (typeof value === 'string') {
      if (!isHeaderValue(value)) return false;
    } else for (const v of value) if (!isHeaderValue(v)) return false;
  }
  return true;
}
export class ResponseRelay {
  /** The path as the client sent it (normalized, before rewrites). */
  private readonly originalPath: string;
  private response: ResponseState | undefined;
  private responseBodyHooks = false;
  private responseTrailerHooks = false;
  private bytesSent = 0;
  private serviceTimeMs: number | undefined;

  constructor(
    readonly owner: RelayOwner,
    private readonly res: DownstreamExchange,
    private readonly ctx: HttpRequestContext,
    private readonly run: ChainRun | undefined,
    private readonly grpc: GrpcStats | undefined,
  ) {
    this.originalPath = ctx.path;
  }

  /** Writes a body chunk; false: wait for the downstream's drain (the exchange resumes then). */
  private writeBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  // --- upstream response ---

  /** Upstream response headers (after route header mutations): filters, then downstream. */
  upstreamHeaders(resp: ResponseState, serviceTimeMs: number, resume: () => void): boolean {
    this.serviceTimeMs = serviceTimeMs;
    if (!this.run) return this.writeHead(resp);
    const r = this.run.responseHeaders(resp, false);
    if (isAsync(r)) {
      r.then((x) => {
        if (this.afterResponseFilters(resp, x)) resume();
      }, () => this.owner.onInternalError());
      return false;
    }
    return this.afterResponseFilters(resp, r);
  }

  upstreamData(chunk: Buffer): boolean {
    if (this.responseBodyHooks) return this.filterResponseBody(chunk, false);
    this.bytesSent += chunk.length;
    this.grpc?.response.push(chunk);
    return this.writeBody(chunk);
  }

  /**
   * The upstream response ended. With trailers, they pass the trailer hooks (body hooks never
   * saw `endOfStream`, as in Envoy); without, body hooks get the final empty chunk and may add
   * trailers then.
   */
  upstreamComplete(rawTrailers: Buffer[] | string[] | Record<string, unknown> | null): void {
    const trailers = upstreamTrailersOf(rawTrailers);
    if (trailers && this.responseTrailerHooks) {
      this.filterResponseTrailers(trailers);
      return;
    }
    if (!trailers && this.responseBodyHooks) {
      this.filterResponseBody(EMPTY, true);
      return;
    }
    this.endResponse(trailers);
  }

  private afterResponseFilters(resp: ResponseState, r: FilterResult): boolean {
    if (!this.owner.streaming) return false;
    if (r.action === 'respond') {
      // A filter replaced the upstream response: stop reading it.
      this.owner.stopUpstream('response replaced by a local reply');
      this.owner.sendLocal(r.reply);
      return false;
    }
    return this.writeHead(resp);
  }

  private writeHead(resp: ResponseState): boolean {
    const serviceTimeMs = resp.local ? undefined : this.serviceTimeMs;
    if (!this.res.writeHead(resp.status, downstreamResponseHeaderList(resp.headers, serviceTimeMs))) {
      // A header the downstream codec refuses (invalid characters): Envoy answers 502 UPE.
      this.owner.stopUpstream('invalid upstream response headers');
      this.owner.sendLocal(failureReply('UPSTREAM_PROTOCOL_ERROR'));
      return false;
    }
    this.response = resp;
    this.responseBodyHooks = this.run?.wantsResponseBody ?? false;
    this.responseTrailerHooks = this.run?.wantsResponseTrailers ?? false;
    // A trailers-only gRPC response carries its status in the headers.
    this.grpc?.observeStatus(resp.headers.get('grpc-status'));
    return true;
  }

  private filterResponseBody(chunk: Buffer, end: boolean): boolean {
    const resp = this.response as ResponseState;
    resp.trailersAddable = end;
    const r = (this.run as ChainRun).responseBody(resp, chunk, end);
    resp.trailersAddable = false;
    if (isAsync(r)) {
      r.then((x) => {
        if (this.deliverResponseBody(x, chunk, end)) this.owner.resumeUpstream();
      }, () => this.owner.onInternalError());
      return false;
    }
    return this.deliverResponseBody(r, chunk, end);
  }

  private deliverResponseBody(r: FilterResult, chunk: Buffer, end: boolean): boolean {
    if (!this.owner.streaming) return false;
    if (r.action === 'respond') {
      this.owner.stopUpstream('response body answered by a filter');
      this.reset();
      return false;
    }
    const out = r.body ?? chunk;
    this.bytesSent += out.length;
    this.grpc?.response.push(out);
    const more = out.length > 0 ? this.writeBody(out) : true;
    if (end) this.endResponse((this.response as ResponseState).addedTrailers);
    return more;
  }

  private filterResponseTrailers(trailers: HeaderMap): void {
    const r = (this.run as ChainRun).responseTrailers(this.response as ResponseState, trailers);
    if (isAsync(r)) r.then((x) => this.deliverResponseTrailers(x, trailers), () => this.owner.onInternalError());
    else this.deliverResponseTrailers(r, trailers);
  }

  private deliverResponseTrailers(r: FilterResult, trailers: HeaderMap): void {
    if (!this.owner.streaming) return;
    if (r.action === 'respond') {
      this.reset();
      return;
    }
    // Body data a filter held back until the trailers goes out before them.
    if (r.body && r.body.length > 0) {
      this.bytesSent += r.body.length;
      this.grpc?.response.push(r.body);
      this.writeBody(r.body);
    }
    this.endResponse(trailers);
  }

  /** Trailers go downstream on HTTP/2 only: Envoy's HTTP/1 codec drops them by default. */
  private endResponse(trailers: HeaderMap | undefined): void {
    let list: string[] | undefined;
    if (trailers && trailers.size > 0) {
      this.grpc?.observeStatus(trailers.get('grpc-status'));
      if (this.res.protocol === 'HTTP/2') list = downstreamTrailerList(trailers);
    }
    this.owner.markLocal();
    // A trailer the codec refuses resets the stream: the response cannot end as the upstream meant it.
    this.res.end(list);
  }

  // --- local replies ---

  /** Answers with a local reply; the response path runs for the filters that ran. */
  sendLocal(reply: LocalReply): void {
    const info = this.ctx.streamInfo;
    if (reply.responseFlag) info.addResponseFlag(reply.responseFlag);
    info.responseCodeDetails = reply.details ?? 'direct_response';
    if (reply.reset) {
      // No response path: nothing is sent that filters could see.
      this.reset();
      return;
    }
    // gRPC clients get errors as grpc-status (Envoy); redirects stay HTTP.
    const grpc = isGrpcRequest(this.ctx) && (reply.status >= 400 || reply.headers?.['grpc-status'] !== undefined);
    const resp = grpc ? grpcLocalResponse(reply) : localResponse(reply);
    if (!this.run) {
      this.writeLocal(resp);
      return;
    }
    const r = this.run.responseHeaders(resp, resp.localBody.length === 0);
    if (isAsync(r)) r.then((x) => this.afterLocalFilters(resp, x), () => this.owner.onInternalError());
    else this.afterLocalFilters(resp, r);
  }

  private afterLocalFilters(resp: ResponseState, r: FilterResult): void {
    if (this.owner.finished) return;
    if (r.action === 'respond') this.owner.sendLocal(r.reply);
    else this.writeLocal(resp);
  }

  private writeLocal(resp: ResponseState): void {
    if (this.res.headersSent) {
      this.reset();
      return;
    }
    // Checked here (local replies are rare) because Node's HTTP/2 writes CR/LF in a value
    // without complaint, a malformed response (RFC 9113 §8.2.1) an HTTP/1 hop behind the
    // client could split; the HTTP/1 codec refuses it too, which gets the same 500.
    // (A header value from an ext_authz denial with CR/LF...: a plain 500 with our own headers.)
    if (!writableHeaders(resp.headers) || !this.res.respond(resp.status, downstreamResponseHeaderList(resp.headers, undefined), resp.localBody)) {
      this.writeInvalidLocalReply();
      return;
    }
    this.response = resp;
    this.bytesSent += Buffer.byteLength(resp.localBody);
    // The waypoint's own gRPC replies are trailers-only: the status is in the headers.
    this.grpc?.observeStatus(resp.headers.get('grpc-status'));
  }

  private writeInvalidLocalReply(): void {
    const reply = failureReply('INVALID_LOCAL_REPLY_HEADERS');
    const info = this.ctx.streamInfo;
    info.responseCodeDetails = reply.details ?? 'invalid_local_reply_headers';
    const resp = localResponse(reply);
    this.response = resp;
    this.bytesSent += Buffer.byteLength(resp.localBody);
    // Our own headers: only a downstream already gone refuses them, and then nobody is waiting.
    this.res.respond(resp.status, downstreamResponseHeaderList(resp.headers, undefined), resp.localBody);
  }

  /**
   * Resets the downstream stream (HTTP/2 RST_STREAM; HTTP/1.1 has no stream reset, so the
   * connection closes): the response cannot be completed, or a filter asked for it.
   */
  reset(): void {
    this.owner.markLocal();
    this.res.reset();
  }

  // --- end ---

  record(finished: boolean, extras: RecordExtras): AccessRecord {
    const sent = this.response !== undefined && (finished || this.res.headersSent);
    return exchangeRecord(this.ctx, {
      originalPath: this.originalPath,
      protocol: this.res.protocol,
      responseCode: sent ? (this.response as ResponseState).status : 0,
      bytesReceived: extras.bytesReceived,
      bytesSent: this.bytesSent,
      serviceTimeMs: this.serviceTimeMs,
      destinationPrincipal: extras.destinationPrincipal,
      downstreamLocalAddress: extras.downstreamLocalAddress,
      downstreamRemoteAddress: extras.downstreamRemoteAddress,
      grpc: this.grpc,
    });
  }
}
