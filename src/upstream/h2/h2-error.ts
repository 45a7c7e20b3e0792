/**
 * Errors of the waypoint's own HTTP/2 upstream client, each with a stable `code` that
 * `attemptFailureOf`/`upstreamFailureOf` (../http-client.ts) map to the proxy's failure codes.
 */

export type H2ErrorCode =
  /** The request cannot be sent (an invalid header name or value): refused before any frame left. */
  | 'H2_INVALID_REQUEST'
  /**
   * The upstream refused the stream: RST_STREAM REFUSED_STREAM, or a GOAWAY whose last-stream-id
   * is below it. It was not processed, so it is safe to retry (Envoy's `refused-stream`).
   */
  | 'H2_REFUSED_STREAM'
  /** The upstream reset the stream (RST_STREAM with another code) before the response ended. */
  | 'H2_STREAM_RESET'
  /**
   * The response broke HTTP/2 (a malformed head or trailers, DATA before the head, a body that
   * disagrees with content-length): this side reset the stream with PROTOCOL_ERROR. Envoy's UPE (502).
   */
  | 'H2_MALFORMED_RESPONSE'
  /** The connection (session) closed or failed before the response ended. */
  | 'H2_CONNECTION_CLOSED'
  /** The stream ended without response headers. */
  | 'H2_NO_RESPONSE'
  /** The request body stream failed or closed before its end. */
  | 'H2_REQUEST_BODY_FAILED'
  /** The pool was closed or destroyed before the request was sent. */
  | 'H2_POOL_CLOSED';

export class UpstreamH2Error extends Error {
  constructor(
    readonly code: H2ErrorCode,
    message: string,
    /** The RST_STREAM (or GOAWAY) error code the peer sent, when one did. */
    readonly rstCode?: number,
  ) {
    super(message);
    this.name = 'UpstreamH2Error';
  }
}
