/**
 * Runs the codec's request parser over a byte stream the way the downstream connection does
 * (one request at a time, the next parsed only after the previous ended) and records what it
 * saw: each request (method, target, headers, body, trailers) and the verdict. Used by the
 * codec's unit tests, its fuzz target and the differential test against Node's parser.
 */
import { Http1ParseError } from '../../src/http1/parse-error.js';
import { RequestParser, type RequestHead } from '../../src/http1/request-parser.js';

export interface ParsedRequest {
  readonly method: string;
  readonly target: string;
  readonly minor: number;
  readonly headers: readonly string[];
  readonly keepAlive: boolean;
  body: Buffer;
  trailers: readonly string[] | null;
  complete: boolean;
}

export interface ParseOutcome {
  readonly requests: ParsedRequest[];
  /** `ok`: every byte parsed, between requests; `partial`: input ended mid-request; else the refusal. */
  readonly verdict: 'ok' | 'partial' | { status: number; reason: string };
}

export function parseRequests(chunks: readonly Buffer[], opts: { maxHeadBytes?: number; maxFields?: number } = {}): ParseOutcome {
  const requests: ParsedRequest[] = [];
  let current: ParsedRequest | undefined;
  const bodies: Buffer[] = [];
  const parser = new RequestParser(
    {
      onRequestHead(h: RequestHead): boolean {
        current = { method: h.method, target: h.target, minor: h.minor, headers: h.headers, keepAlive: h.keepAlive, body: Buffer.alloc(0), trailers: null, complete: false };
        requests.push(current);
        bodies.length = 0;
        return true;
      },
      onRequestBody(chunk: Buffer): boolean {
        bodies.push(Buffer.from(chunk));
        return true;
      },
      onRequestEnd(trailers: string[] | null): void {
        const c = current as ParsedRequest;
        c.body = Buffer.concat(bodies);
        c.trailers = trailers;
        c.complete = true;
      },
    },
    opts.maxHeadBytes ?? 60 * 1024,
    opts.maxFields ?? 100,
  );
  try {
    for (const chunk of chunks) {
      let pos = 0;
      while (pos < chunk.length) {
        pos = parser.execute(chunk, pos);
        if (parser.done) parser.next();
      }
    }
  } catch (err) {
    if (err instanceof Http1ParseError) return { requests, verdict: { status: err.status, reason: err.reason } };
    throw err;
  }
  if (current && !current.complete) current.body = Buffer.concat(bodies);
  return { requests, verdict: parser.idle ? 'ok' : 'partial' };
}
