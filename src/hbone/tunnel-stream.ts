/**
 * Makes an HTTP/2 stream safe to hand out as an HBONE tunnel (a plain byte Duplex), working around
 * the Node 20 pitfalls listed in reference/perf-baseline.md:
 *
 * - (1) a corked batch of writes containing an empty chunk corrupts the first bytes the peer
 *   receives: empty chunks are dropped before the batched write. Consumers such as `http.Server`
 *   (fed the stream) and `http.Agent` cork their writes, so this matters on every L7 hop.
 * - (2) `http.Agent` calls socket methods an Http2Stream lacks (`setKeepAlive`, `setNoDelay`, ...)
 *   from a nextTick, an uncaught exception: harmless no-ops are added.
 * - (5, 7) a peer's RST_STREAM or GOAWAY surfaces as 'aborted'/'error' on the stream: an 'error'
 *   listener is always attached (an unhandled one kills the process) and 'aborted' is turned into
 *   a destroy with an error, so consumers see a reset, never a clean end.
 * - (9) `destroy()` without an error on an unfinished stream sends RST_STREAM(NO_ERROR), which a
 *   peer that has already ended its side takes for a clean end of our data: such a destroy is
 *   given an error, so the reset carries INTERNAL_ERROR.
 */
import type { Http2Stream } from 'node:http2';

type WriteChunk = { chunk: Buffer | string; encoding: BufferEncoding };
/** Writable passes `allBuffers` on the array it gives `_writev`; Node's writev reads it back. */
type WriteBatch = WriteChunk[] & { allBuffers?: boolean };
type WriteCallback = (error?: Error | null) => void;

interface SocketLike {
  setKeepAlive?: (enable?: boolean, delay?: number) => unknown;
  setNoDelay?: (noDelay?: boolean) => unknown;
  ref?: () => unknown;
  unref?: () => unknown;
}

/** The error a tunnel is destroyed with when it did not finish cleanly. */
export class TunnelResetError extends Error {
  constructor(
    readonly rstCode: number | undefined,
    by: 'peer' | 'local' = 'peer',
  ) {
    super(`HBONE stream reset by ${by}${rstCode !== undefined ? ` (code ${rstCode})` : ''}`);
    this.name = 'TunnelResetError';
  }
}

function ignoreError(): void {
  // Errors are observed by the stream's consumer (splice, http.Server); this listener only keeps
  // an unobserved one from becoming an uncaught exception.
}

function onAborted(this: Http2Stream): void {
  if (!this.destroyed) this.destroy(new TunnelResetError(this.rstCode));
}

function noop(this: unknown): unknown {
  return this;
}

/** Applies the workarounds in place and returns the same stream. Idempotent. */
export function hardenTunnelStream<S extends Http2Stream>(stream: S): S {
  const marked = stream as S & { hboneHardened?: true };
  if (marked.hboneHardened) return stream;
  marked.hboneHardened = true;

  stream.on('error', ignoreError);
  stream.on('aborted', onAborted);

  const batched = stream._writev?.bind(stream);
  const single = stream._write.bind(stream);
  stream._write = (chunk: Buffer | string, encoding: BufferEncoding, cb: WriteCallback): void => {
    if (chunk.length === 0) {
      cb();
      return;
    }
    single(chunk, encoding, cb);
  };
  if (batched) {
    stream._writev = (chunks: WriteBatch, cb: WriteCallback): void => {
      let empties = 0;
      for (const c of chunks) if (c.chunk.length === 0) empties++;
      if (empties === 0) {
        batched(chunks, cb);
        return;
      }
      const kept: WriteBatch = chunks.filter((c) => c.chunk.length > 0);
      if (kept.length === 0) {
        cb();
        return;
      }
      const only = kept[0];
      if (kept.length === 1 && only) {
        single(only.chunk, only.encoding, cb);
        return;
      }
      kept.allBuffers = chunks.allBuffers;
      batched(kept, cb);
    };
  }

  const destroy = stream.destroy.bind(stream);
  stream.destroy = (err?: Error): S => {
    const unfinished = !stream.closed && !(stream.writableFinished && stream.readableEnded);
    destroy(err ?? (unfinished ? new TunnelResetError(undefined, 'local') : undefined));
    return stream;
  };

  const sock = stream as unknown as SocketLike;
  sock.setKeepAlive ??= noop;
  sock.setNoDelay ??= noop;
  sock.ref ??= noop;
  sock.unref ??= noop;
  return stream;
}
