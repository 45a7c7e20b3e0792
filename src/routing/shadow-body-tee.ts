/**
 * Copies a request body to mirror (shadow) requests as it streams to the real upstream. The real
 * request never waits for a shadow: a shadow that falls more than {@link MAX_SHADOW_LAG_BYTES}
 * behind is dropped (its request reset), as a mirror must never slow or fail the request it
 * copies. Errors of the source reach the real request and reset every shadow.
 */
import type { Readable, TransformCallback } from 'node:stream';
const { PassThrough, Transform, pipeline } = process.getBuiltinModule('node:stream');
type PassThrough = import('node:stream').PassThrough;

/** How far a shadow may lag behind the real request before it is abandoned. */
export const MAX_SHADOW_LAG_BYTES = 1024 * 1024;

class ShadowTee extends Transform {
  constructor(private readonly shadows: PassThrough[]) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (const s of this.shadows) {
      if (s.destroyed) continue;
      if (s.writableLength > MAX_SHADOW_LAG_BYTES) s.destroy(new Error('mirror fell behind the request body'));
      else s.write(chunk);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    for (const s of this.shadows) if (!s.destroyed) s.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    for (const s of this.shadows) if (!s.writableFinished) s.destroy(err ?? new Error('request body aborted'));
    cb(err);
  }
}

/** A body stream for one shadow; hand it to `teeToShadows` with the others. */
export function shadowBody(): PassThrough {
  return new PassThrough();
}

/** The stream the real request reads instead of `body`, copying each chunk to the shadows. */
export function teeToShadows(body: Readable, shadows: PassThrough[]): Readable {
  const tee = new ShadowTee(shadows);
  // pipeline destroys the tee with the source's error, so the real request sees the reset too.
  pipeline(body, tee, () => {});
  return tee;
}
