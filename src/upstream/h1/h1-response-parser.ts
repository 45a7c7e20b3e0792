/**
 * The upstream client's view of the codec's response parser (src/http1/response-parser.ts):
 * the same parser, its refusals turned into the client's coded errors ({@link UpstreamH1Error}:
 * `H1_MALFORMED_RESPONSE`, `H1_HEADERS_TOO_LARGE`, `H1_CONNECTION_CLOSED`), which
 * `attemptFailureOf` maps to the proxy's failure codes.
 */
import { Http1ParseError } from '../../http1/parse-error.js';
import { ResponseParser, type ResponseHandler } from '../../http1/response-parser.js';
import { UpstreamH1Error } from './h1-error.js';

export type H1ResponseHandler = ResponseHandler;

export class H1ResponseParser extends ResponseParser {
  constructor(
    handler: ResponseHandler,
    private readonly maxHeaderSize: number,
  ) {
    super(handler, maxHeaderSize);
  }

  /** Throws {@link UpstreamH1Error} on a malformed response. */
  override execute(buf: Buffer, pos: number): number {
    try {
      return super.execute(buf, pos);
    } catch (err) {
      throw this.coded(err);
    }
  }

  /** The connection ended: completes a read-until-close body, or throws if the response is cut. */
  override finishAtEof(): boolean {
    if (super.finishAtEof()) return true;
    throw new UpstreamH1Error('H1_CONNECTION_CLOSED', 'upstream closed the connection before the response was complete');
  }

  private coded(err: unknown): unknown {
    if (!(err instanceof Http1ParseError)) return err;
    if (err.status === 431) return new UpstreamH1Error('H1_HEADERS_TOO_LARGE', `upstream response headers exceed ${this.maxHeaderSize} bytes`);
    return new UpstreamH1Error('H1_MALFORMED_RESPONSE', `malformed upstream response: ${err.reason}`);
  }
}
