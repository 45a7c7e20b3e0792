/**
 * How much an HTTP/1.1 hop of the waypoint lets queue on a stream before it stops its source,
 * and the one place that raises a stream's write limit to it.
 *
 * An HBONE tunnel delivers a body as ~8 KiB pieces (one per DATA frame piece of a TLS record).
 * With Node's default 64 KiB write limit every eighth piece returned `false` from `write()`, and
 * the body's source was paused and resumed (a parser pause, a Readable `resume()` → `flow()` →
 * `read()` loop on a later tick, an HTTP/2 stream read stop/start) about 16,000 times per GiB in
 * each direction. The ztunnel's splice uses the same limit for the same reason (src/net/splice.ts);
 * docs/performance.md "Session 6: bulk through the waypoint" has the measurements.
 *
 * Memory stays bounded: at most this much per direction of a request whose reader is slower than
 * its writer, Envoy's default per-connection buffer limit being 1 MiB.
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
