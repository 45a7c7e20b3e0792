/**
 * One request's trailers, from the downstream codec through the filters to the upstream stream.
 *
 * The downstream request's trailers are known once its body has ended (the codec has them
 * before the body's 'end'). Filters with trailer hooks see them as a {@link HeaderMap} and
 * edit it in place; a filter may also create trailers in its last body hook when the request has
 * none (Envoy's `addDecodedTrailers`). The upstream HTTP/2 stream asks for them after the body's
 * last byte (src/upstream/h2-request-trailers.ts).
 *
 * HTTP/1.1 upstreams do not get them: undici writes the chunked terminator itself, and Envoy's
 * HTTP/1 codec drops trailers too unless `enable_trailers` is set (Istio does not set it).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { HeaderMap } from '../filter/header-map.js';
import type { RequestTrailerSource } from '../upstream/h2-request-trailers.js';
import type { DownstreamExchange } from './downstream-exchange.js';
import { upstreamTrailerHeaders } from './proxy-headers.js';

export class RequestTrailers implements RequestTrailerSource {
  /** The map filters saw (or created); undefined until then. */
  private map: HeaderMap | undefined;
  /** True only during the last request-body hook of a request without trailers. */
  private addable = false;

  constructor(private readonly source: DownstreamExchange) {}

  /** The downstream trailers as a map filters can edit, or undefined when the request had none. */
  received(): HeaderMap | undefined {
    if (this.map) return this.map;
    return (this.map = this.source.trailers());
  }

  /** Brackets the last body hook of a request without trailers: filters may add some then. */
  allowAdding(on: boolean): void {
    this.addable = on;
  }

  /** `RequestContext.addTrailers`. */
  add(): HeaderMap | undefined {
    if (!this.addable) return undefined;
    return (this.map ??= new HeaderMap());
  }

  upstreamTrailers(): OutgoingHttpHeaders | undefined {
    const map = this.received();
    return map && map.size > 0 ? upstreamTrailerHeaders(map) : undefined;
  }
}
