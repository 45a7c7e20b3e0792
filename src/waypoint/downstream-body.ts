/**
 * The engine's {@link RequestBodyAccess}: lets a request-headers hook (ext_authz with
 * `includeRequestBodyInCheck`) read the downstream body before the request goes upstream, like
 * Envoy's filters that stop iteration and buffer. What was read is replayed in front of the rest
 * of the body ({@link DownstreamBody.replay}), so the upstream still receives every byte.
 *
 * Memory is bounded by `maxBytes` plus one chunk: reading stops as soon as the limit is passed,
 * and the remainder streams with normal backpressure.
 */
const { PassThrough } = process.getBuiltinModule('node:stream');
type PassThrough = import('node:stream').PassThrough;
import type { Readable } from 'node:stream';
import type { BufferedRequestBody, RequestBodyAccess } from '../filter/api.js';

export class DownstreamBody implements RequestBodyAccess {
  private chunks: Buffer[] | undefined;
  private ended = false;
  private stream: PassThrough | undefined;

  constructor(private readonly source: Readable) {}

  buffer(maxBytes: number): Promise<BufferedRequestBody> {
    if (this.chunks) return Promise.reject(new Error('the request body was already buffered'));
    const chunks: Buffer[] = (this.chunks = []);
    const src = this.source;
    return new Promise<BufferedRequestBody>((resolve, reject) => {
      let total = 0;
      const done = (): void => {
        src.off('data', onData);
        src.off('end', onEnd);
        src.off('error', onError);
        src.off('close', onClose);
        src.pause();
        const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        const complete = this.ended && total <= maxBytes;
        resolve({ data: complete ? all : all.subarray(0, maxBytes), complete });
      };
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        total += chunk.length;
        if (total > maxBytes) done();
      };
      const onEnd = (): void => {
        this.ended = true;
        done();
      };
      const onError = (err: Error): void => {
        src.off('data', onData);
        reject(err);
      };
      const onClose = (): void => {
        if (!this.ended) onError(new Error('the downstream request was aborted while its body was read'));
      };
      src.on('data', onData);
      src.once('end', onEnd);
      src.once('error', onError);
      src.once('close', onClose);
    });
  }

  /**
   * The body to send upstream when some of it was read ahead: the read chunks, then the rest of
   * the source. `undefined` when nothing was read (the engine uses the source as it is).
   */
  replay(): Readable | undefined {
    if (!this.chunks) return undefined;
    if (this.stream) return this.stream;
    const out = (this.stream = new PassThrough());
    for (const c of this.chunks) out.write(c);
    this.chunks = [];
    if (this.ended) out.end();
    else {
      this.source.once('error', (err) => out.destroy(err));
      this.source.pipe(out);
      this.source.resume();
    }
    return out;
  }
}
