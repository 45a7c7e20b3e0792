/**
 * How much a relay lets queue on a writable side before it pauses its source (the ztunnel's splice,
 * the waypoint's downstream HTTP/1.1 tunnel), and the one place that raises a stream's write
 * limit to it.
 *
 * An HBONE tunnel delivers a body as ~8 KiB pieces (one per DATA frame piece of a TLS record).
 * With Node's default 64 KiB write limit every eighth piece returned `false` from `write()`, and
 * the upstream was paused and resumed (a parser pause, an HTTP/2 stream read stop/start, a
 * Readable `resume()` → `flow()` → `read()` loop on a later tick) about 16,000 times per GiB.
 * The ztunnel's splice uses the same limit for the same reason (src/net/splice.ts).
 *
 * Not applied to the upstream tunnel a request body is written to: measured there, the waypoint
 * spent ~40 % more CPU per GiB uploaded with it (docs/performance.md "Session 6: bulk through
 * the waypoint"). Memory stays bounded: at most this much per response whose reader is slower
 * than its writer (Envoy's default per-connection buffer limit is 1 MiB).
 */
import type { Duplex, Writable } from 'node:stream';

export const BULK_HIGH_WATER_MARK = 256 * 1024;

/** Writable state fields Node keeps on every stream; the high-water mark is fixed at construction otherwise. */
interface WritableStateLike {
  highWaterMark: number;
}

/** Raises `stream`'s write limit to {@link BULK_HIGH_WATER_MARK} (never lowers it). */
export function raiseWriteHighWaterMark(stream: Duplex | Writable): void {
  const state = (stream as Writable & { _writableState?: WritableStateLike })._writableState;
  if (state && typeof state.highWaterMark === 'number' && state.highWaterMark < BULK_HIGH_WATER_MARK) state.highWaterMark = BULK_HIGH_WATER_MARK;
}
