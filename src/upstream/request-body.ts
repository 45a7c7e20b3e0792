/**
 * The request body either upstream client sends, from what a caller may dispatch (undici's
 * `DispatchOptions.body` shapes): nothing, one buffer, or a byte stream. An empty buffer or string
 * is no body; an iterable becomes a stream; anything else is refused before any byte leaves.
 */
const { Readable } = process.getBuiltinModule('node:stream');
type Readable = import('node:stream').Readable;
import type { Dispatcher } from 'undici';

/** A request body an upstream client can send. */
export type UpstreamBody = Buffer | Readable | null;

/** The body to send, or the error `invalid('body')` builds for a shape no client can send. */
export function upstreamBodyOf(body: Dispatcher.DispatchOptions['body'], invalid: (what: string) => Error): UpstreamBody {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return body.length === 0 ? null : Buffer.from(body);
  if (body instanceof Uint8Array) {
    if (body.length === 0) return null;
    return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  if (body instanceof Readable) return body;
  const iterable = body as unknown as Partial<AsyncIterable<Buffer>> & Partial<Iterable<Buffer>>;
  if (typeof iterable[Symbol.asyncIterator] === 'function' || typeof iterable[Symbol.iterator] === 'function') {
    return Readable.from(iterable as AsyncIterable<Buffer>, { objectMode: false });
  }
  throw invalid('body');
}
