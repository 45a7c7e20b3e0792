/**
 * Bidirectional byte copy between two duplex streams (a client socket and an HBONE stream, an HBONE
 * stream and an app socket...), the core of every L4 hop.
 *
 * - Backpressure: a side that cannot take more pauses the other (no unbounded buffering).
 * - Half-close: a clean end of one side's readable half ends the other's writable half, and the
 *   copy in the other direction carries on (a client that half-closes still gets its reply).
 * - Resets: a side that closes without a clean end, or errors, destroys the other, so the peer
 *   beyond it sees a reset rather than a clean close (pitfall 9 of perf-baseline.md).
 * - Reads: a plain TCP side reads into reused buffers (`pooled-reads.ts`), not a fresh ArrayBuffer
 *   per read; a pooled chunk's buffer is reused once the write that carried it has completed.
 */
const net = process.getBuiltinModule('node:net');
import type { Duplex } from 'node:stream';
import { raiseWriteHighWaterMark } from './bulk-high-water-mark.js';
import { readIntoPool, recyclesAfterWrite } from './pooled-reads.js';
import { giveBackReadBuffer } from './read-buffer-pool.js';
import { resetSocket } from './sockets.js';
import { TurnBatch } from './turn-batch.js';

export interface SpliceResult {
  /** Bytes read from `a` and written to `b`. */
  readonly aToB: number;
  readonly bToA: number;
  /** The first error or reset seen, if the copy did not end cleanly both ways. */
  readonly error?: Error;
}

/**
 * The bytes a splice has copied so far, readable while it runs: telemetry reports a long
 * connection's bytes periodically from it (Istio's `tcpReportingDuration`), not only at its end.
 */
export class ByteTally {
  aToB = 0;
  bToA = 0;
}

export function splice(a: Duplex, b: Duplex, tally: ByteTally = new ByteTally()): Promise<SpliceResult> {
  raiseWriteHighWaterMark(a);
  raiseWriteHighWaterMark(b);
  return new Promise((resolve) => {
    let firstError: Error | undefined;
    let closed = 0;

    const abort = (err: Error): void => {
      firstError ??= err;
      reset(a, err);
      reset(b, err);
    };

    const wire = (from: Duplex, to: Duplex, count: (n: number) => void): void => {
      // Bulk chunks that arrive in one turn of the event loop leave in one write (an HTTP/2 session
      // delivers a TLS read's worth of DATA frames as several ~8 KiB chunks back to back); small
      // chunks of an interactive protocol are written straight away. See src/net/turn-batch.ts.
      const batch = new TurnBatch(to);
      const recycles = recyclesAfterWrite(to);
      const onChunk = (chunk: Buffer, pooled: Buffer | undefined): boolean => {
        count(chunk.length);
        // The far side already closed cleanly (RST_STREAM NO_ERROR after its END_STREAM): it
        // takes no more bytes, and that is not an error.
        if (to.writableEnded || to.destroyed) {
          if (pooled) giveBackReadBuffer(pooled);
          return true;
        }
        batch.before(chunk.length);
        if (pooled === undefined || !recycles) return to.write(chunk);
        // The buffer is reused once the write is done with it; after an error or a teardown the
        // write may still be in flight natively, so it is left to the GC then.
        return to.write(chunk, (err) => {
          if (!err && !to.destroyed) giveBackReadBuffer(pooled);
        });
      };
      // A plain TCP source reads into reused buffers (events it emits come later than this turn,
      // so the listeners below are on before any); any other source gives 'data' events.
      const reader = from instanceof net.Socket ? readIntoPool(from, onChunk) : undefined;
      if (!reader) {
        from.on('data', (chunk: Buffer) => {
          if (!onChunk(chunk, undefined)) from.pause();
        });
      }
      to.on('drain', () => from.resume());
      from.on('end', () => {
        if (!to.writableEnded && !to.destroyed) to.end();
      });
      from.on('error', (err: Error) => abort(err));
      // Http2Stream: the peer reset the stream (RST_STREAM); 'error' may not follow. NO_ERROR is a
      // normal close (RFC 9113 §8.1: "stop sending, the response is complete"): the 'close'
      // handler still flags it if the peer's data did not end cleanly first.
      from.on('aborted', () => {
        if (rstCodeOf(from) !== NO_ERROR) abort(new Error('stream aborted by peer'));
      });
      from.on('close', () => {
        reader?.dispose();
        if (!from.readableEnded && !firstError) abort(new Error('closed before end of stream'));
        if (++closed === 2) resolve(firstError ? { aToB: tally.aToB, bToA: tally.bToA, error: firstError } : { aToB: tally.aToB, bToA: tally.bToA });
      });
    };

    wire(a, b, (n) => (tally.aToB += n));
    wire(b, a, (n) => (tally.bToA += n));
    if (a.destroyed || b.destroyed) abort(new Error('stream already destroyed'));
  });
}

const NO_ERROR = 0;

/** The RST_STREAM code an Http2Stream was closed with (`undefined` for other streams). */
function rstCodeOf(s: Duplex): number | undefined {
  const code = (s as { rstCode?: unknown }).rstCode;
  return typeof code === 'number' ? code : undefined;
}

/** Destroys a stream so its peer sees a reset: RST for TCP sockets, RST_STREAM for HTTP/2. */
function reset(s: Duplex, err: Error): void {
  if (s.destroyed) return;
  if (s instanceof net.Socket) resetSocket(s);
  else s.destroy(err);
}
