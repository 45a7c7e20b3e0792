/**
 * The server side of one CONNECT stream, as the handler sees it ({@link HboneConnect}): answer
 * once, with 200 and a tunnel, or with a failure's status.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { FailureCode } from '../failures.js';
import { FAILURES } from '../failures.js';
import type { HboneAuthority, HboneConnect, HboneConnectionInfo } from './types.js';

/** One CONNECT stream given to the handler; answers exactly once. */
export class ServerConnect implements HboneConnect {
  private answered = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly authority: HboneAuthority,
    readonly headers: IncomingHttpHeaders,
    readonly connection: HboneConnectionInfo,
  ) {}

  get closed(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  accept(responseHeaders?: Readonly<Record<string, string>>): ServerHttp2Stream {
    this.markAnswered();
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed && !stream.headersSent) {
      stream.respond({ ...responseHeaders, ':status': 200 });
      // Start reading now: a server stream that ends its side before ever reading is reset by
      // Node (RST_STREAM NO_ERROR), losing the client's remaining upload (perf-baseline pitfall 6).
      stream.read(0);
    }
    return stream;
  }

  reject(code: FailureCode): void {
    this.markAnswered();
    answer(this.stream, code);
  }

  private markAnswered(): void {
    if (this.answered) throw new Error(`CONNECT ${this.authority.text} answered twice`);
    this.answered = true;
  }
}

/** Answers a stream with a failure's status and ends it. */
export function answer(stream: ServerHttp2Stream, code: FailureCode): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond({ ':status': FAILURES[code].status }, { endStream: true });
}
