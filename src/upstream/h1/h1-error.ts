/**
 * Errors of the waypoint's own HTTP/1.1 upstream client, each with a stable `code` that
 * `attemptFailureOf`/`upstreamFailureOf` (../http-client.ts) map to the proxy's failure codes.
 */

export type H1ErrorCode =
  /** The response broke HTTP/1.1 framing or syntax (→ UPSTREAM_PROTOCOL_ERROR, UPE). */
  | 'H1_MALFORMED_RESPONSE'
  /** The response head exceeded the header size limit (→ UPSTREAM_PROTOCOL_ERROR). */
  | 'H1_HEADERS_TOO_LARGE'
  /** The request cannot be written (a CR/LF/NUL in a header value...): refused before any byte left. */
  | 'H1_INVALID_REQUEST'
  /** The request body's length differs from its Content-Length. */
  | 'H1_REQUEST_LENGTH_MISMATCH'
  /** The connection closed (or failed) before the response was complete. */
  | 'H1_CONNECTION_CLOSED'
  /** The request body stream failed. */
  | 'H1_REQUEST_BODY_FAILED'
  /** The pool was closed or destroyed before the request was sent. */
  | 'H1_POOL_CLOSED';

export class UpstreamH1Error extends Error {
  constructor(
    readonly code: H1ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamH1Error';
  }
}
