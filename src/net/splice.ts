/**
 * Bidirectional byte copy between two duplex streams (a client socket and an HBONE stream, an HBONE
 * stream and an app socket...), the core of every L4 hop.
 *
 * - Backpressure: a side that cannot take more pauses the other (no unbounded buffering).
 * - Half-close: a clean end of one side's readable half ends the other's writable half, and the
 *   copy in the other direction carries on (a client that half-closes still gets its reply).
 * - Resets: a side that closes without a clean end, or errors, destroys the other, so the peer
 *   beyond it sees a reset rather than a clean close (pitfall 9 of perf-baseline.md).
 */
const net = process.getBuiltinModule('node:net');
import type { Duplex } from 'node:stream';
import { resetSocket } from './sockets.js';

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

/**
 * How much a splice lets queue on a writable side before it pauses the other side. Node's default
 * (16 KiB) is less than one TCP read (64 KiB) or one TLS read's worth of DATA frames, so with the
 * default every chunk paused and resumed the source: an epoll_ctl pair per chunk on a socket, and
 * a single chunk in flight at a time. docs/performance.md "Bulk through HBONE" has the A/B.
 */
export const SPLICE_WRITE_HIGH_WATER_MARK = 256 * 1024;

/** Chunks at least this large are bulk data, batched per event-loop turn (see `wire`). */
const BATCH_MIN_CHUNK_BYTES = 4096;

/** Writable state fields Node keeps on every stream; the high-water mark is fixed at construction otherwise. */
interface WritableStateLike {
  highWaterMark: number;
}

function raiseWriteHighWaterMark(s: Duplex): void {
  const state = (s as Duplex & { _writableState?: WritableStateLike })._writableState;
  if (state && typeof state.highWaterMark === 'number' && state.highWaterMark < SPLICE_WRITE_HIGH_WATER_MARK) {
    state.highWaterMark = SPLICE_WRITE_HIGH_WATER_MARK;
  }
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
      // Bulk chunks that arrive in one turn of the event loop leave in one write: an HTTP/2
      // session delivers a TLS read's worth of DATA frames as several ~8 KiB chunks back to back,
      // and writing each to a TCP socket was one syscall apiece. The first large chunk of a turn
      // is written at once; later ones in the same turn are corked until the turn's check phase
      // (not nextTick: Node drains the tick queue after each native callback, i.e. per chunk) and
      // leave as one writev. Small chunks (requests and responses of an interactive protocol) are
      // written straight away with no timer: batching them only adds work per message.
      let turnOpen = false;
      let corked = false;
      const endTurn = (): void => {
        turnOpen = false;
        if (corked) {
          corked = false;
          if (!to.destroyed) to.uncork();
        }
      };
      from.on('data', (chunk: Buffer) => {
        count(chunk.length);
        // The far side already closed cleanly (RST_STREAM NO_ERROR after its END_STREAM): it
        // takes no more bytes, and that is not an error.
        if (to.writableEnded || to.destroyed) return;
        if (chunk.length >= BATCH_MIN_CHUNK_BYTES) {
          if (!turnOpen) {
            turnOpen = true;
            setImmediate(endTurn);
          } else if (!corked) {
            corked = true;
            to.cork();
          }
        }
        if (!to.write(chunk)) from.pause();
      });
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
