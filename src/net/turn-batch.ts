/**
 * Bulk chunks written to one stream in one turn of the event loop leave as one write.
 *
 * An HBONE tunnel delivers a TLS read's worth of DATA frame pieces (~8 KiB each) back to back
 * inside one native callback; relaying each with its own `write()` costs a native write request,
 * its completion callback and an `afterWrite` tick apiece. The first bulk chunk of a turn is
 * written at once (no delay for a lone chunk); later ones in the same turn are corked until the
 * turn's check phase (`setImmediate`: nextTick would run after each native callback, i.e. per
 * chunk) and leave as one writev. Small chunks (an interactive protocol's messages) are not
 * batched: that only adds work per message. The same rule as the ztunnel's splice
 * (src/net/splice.ts), for the waypoint's HTTP/1.1 body relays.
 */
import type { Writable } from 'node:stream';

/** Chunks at least this large are bulk data. */
export const BATCH_MIN_CHUNK_BYTES = 4096;

export class TurnBatch {
  private turnOpen = false;
  private corked = false;

  constructor(private readonly stream: Writable) {}

  /** Call before writing a chunk of `bytes` to the stream. */
  before(bytes: number): void {
    if (bytes < BATCH_MIN_CHUNK_BYTES) return;
    if (!this.turnOpen) {
      this.turnOpen = true;
      setImmediate(this.endTurn);
    } else if (!this.corked) {
      this.corked = true;
      this.stream.cork();
    }
  }

  private readonly endTurn = (): void => {
    this.turnOpen = false;
    if (!this.corked) return;
    this.corked = false;
    if (!this.stream.destroyed) this.stream.uncork();
  };
}
