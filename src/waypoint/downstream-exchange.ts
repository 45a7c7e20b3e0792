/**
 * The downstream side of one HTTP exchange, as the exchange state machine
 * (`http-exchange.ts`, `response-relay.ts`) talks to it: the request head, its body as chunks,
 * its trailers, and a response written as head, body chunks, end (with trailers) or reset.
 *
 * Each inner codec implements it once per request: HTTP/1.1 (`src/http1/` driven by
 * `h1-downstream-connection.ts`) and HTTP/2. The exchange never sees a codec's own objects, so a
 * codec can be replaced without touching routing, filters, retries or the access record.
 *
 * Events go the other way through {@link DownstreamEvents}: one listener per request, attached
 * once (no EventEmitter, no closure per request on the hot path).
 */
import type { Readable } from 'node:stream';
import type { HeaderMap } from '../filter/header-map.js';

export type DownstreamProtocol = 'HTTP/1.1' | 'HTTP/2';

/** What a downstream codec tells the exchange about its request. */
export interface DownstreamEvents {
  /** The response may take more body after {@link DownstreamExchange.write} returned false. */
  downstreamDrain(): void;
  /**
   * The request is over downstream: `finished` when the whole response was written, false when
   * the client went away or the stream was reset first. Called exactly once.
   */
  downstreamClosed(finished: boolean): void;
  /** Nothing moved on this request in either direction for the stream idle timeout. */
  downstreamIdle(): void;
}

export interface DownstreamExchange {
  readonly protocol: DownstreamProtocol;

  // --- request ---

  readonly method: string;
  /** The request target as received (origin-form, absolute-form or `*`); HTTP/2 `:path`. */
  readonly target: string;
  /** HTTP/2 `:authority`, else the Host header; undefined when the request had neither. */
  readonly authority: string | undefined;
  /**
   * The request's headers, lowercase names, without pseudo-headers; built once by the codec and
   * owned by the exchange from then on (filters edit it in place).
   */
  readonly headers: HeaderMap;
  /** True when no body follows the head (so none goes upstream). */
  readonly bodyless: boolean;
  /**
   * The request body as a byte stream with backpressure (pausing it stops reading from the
   * client), or null when {@link bodyless}. It errors if the client resets mid-body.
   */
  readonly body: Readable | null;
  /** The whole request (head, body, trailers) has been received. */
  readonly complete: boolean;
  /** The request's trailers once the body has ended; undefined when it had none. */
  trailers(): HeaderMap | undefined;

  // --- response ---

  /** Attaches the exchange's listener (once, before anything is written). */
  attach(events: DownstreamEvents): void;
  /**
   * Writes the response head: `headers` flat `[name, value, ...]`, lowercase names, hop-by-hop
   * fields already removed (the codec adds its own framing). Returns false, having sent nothing,
   * when the codec cannot write them (an invalid name or value): the caller answers otherwise.
   */
  writeHead(status: number, headers: readonly string[]): boolean;
  /** A body chunk; false asks the caller to wait for {@link DownstreamEvents.downstreamDrain}. */
  write(chunk: Buffer): boolean;
  /**
   * Ends the response, with trailers (flat list) where the protocol carries them (HTTP/1.1
   * drops them, as Envoy's codec does by default). Returns false when the trailers could not be
   * written; the stream is reset then.
   */
  end(trailers?: readonly string[]): boolean;
  /** A whole response in one call (local replies): head, `body`, end. False as for writeHead. */
  respond(status: number, headers: readonly string[], body: string): boolean;
  /**
   * Abandons the response: HTTP/2 resets the stream; HTTP/1.1, having no stream reset, closes the
   * connection. {@link DownstreamEvents.downstreamClosed} follows with `finished` false.
   */
  reset(): void;
  /**
   * The connection ends after this response (called before it is written): HTTP/1.1 answers
   * with `connection: close`, HTTP/2 closes the session gracefully (GOAWAY, streams already taken
   * still finish).
   */
  closeConnection(): void;
  /** The response head has been written (or queued to be). */
  readonly headersSent: boolean;
}
