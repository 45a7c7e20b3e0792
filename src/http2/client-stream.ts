/**
 * One stream of a {@link ClientConnection}: the request goes out through the {@link H2ServerStream}
 * machinery it extends (HEADERS, DATA split by the peer's windows and frame size, trailers,
 * END_STREAM folded onto the last queued frame) — sending is the same on both sides of HTTP/2 —
 * and the response comes back through a {@link ClientStreamHandler}.
 */
import { ErrorCode } from './frame-types.js';
import { H2ServerStream, type StreamHandler, type StreamHost } from './server-stream.js';

export interface ClientStreamHandler extends StreamHandler {
  /**
   * The final response head (checked, 1xx skipped); false: hold the window's credit until
   * {@link H2ServerStream.resume}, as onData's false does.
   */
  onResponse(status: number, fields: string[]): boolean;
}

export class H2ClientStream extends H2ServerStream {
  /** The final response head arrived. */
  responded = false;
  /** The response's declared length (-1: none, or not enforced: HEAD, 204, 304). */
  responseLength = -1;
  /** The server's GOAWAY named a lower last-stream-id: never processed, safe to retry. */
  refusedByGoaway = false;
  /** The response broke the protocol and this side reset the stream (Envoy's UPE, not a reset by the peer). */
  malformed = false;

  constructor(
    id: number,
    host: StreamHost,
    sendWindow: number,
    recvWindow: number,
    readonly client: ClientStreamHandler,
    /** A HEAD request: the response's content-length describes no body. */
    readonly headRequest: boolean,
  ) {
    super(id, host, sendWindow, recvWindow, false, -1, Date.now());
    this.resetWhenEndedFirst = false;
    this.handler = client;
  }

  /** The response broke HTTP/2 (RFC 9113 §8.1.1): RST_STREAM(PROTOCOL_ERROR), remembered as ours. */
  refuse(): void {
    this.malformed = true;
    this.reset(ErrorCode.PROTOCOL_ERROR);
  }
}
