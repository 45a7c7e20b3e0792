/**
 * The read buffers of spliced TCP sockets (`pooled-reads.ts`), reused instead of a fresh 64 KiB
 * ArrayBuffer per TCP read. Node's default read path allocates one per read and V8 counts each as
 * external memory; a ztunnel sending a bulk body from an app socket ran ~40 mark-compacts per GiB
 * on that alone (docs/performance.md, sessions 5 and 6).
 *
 * Two kinds of buffer, so a connection at rest holds none of its own:
 * - one **shared** buffer that every spliced socket reads into while its reads are small or
 *   sporadic; what lands there is copied out before the read callback returns (reads are
 *   delivered one at a time on the event loop, so no two sockets use it at once);
 * - **pooled** buffers a socket reads into while it carries bulk data. Each read's buffer is handed
 *   to the destination's `write()` as is and comes back here when that write has completed.
 * Only {@link MAX_IDLE_BUFFERS} idle pooled buffers are kept; more are left to the GC.
 */

/** One TCP read's worth, the size Node's default read path uses too. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Idle pooled buffers kept for reuse (1 MiB): about three bulk connections' in-flight writes. */
export const MAX_IDLE_BUFFERS = 16;

const idle: Buffer[] = [];
let shared: Buffer | undefined;

/** The process-wide buffer for small reads; its contents are valid only inside one read callback. */
export function sharedReadBuffer(): Buffer {
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return shared;
}

/** A buffer for the caller's exclusive use until it gives it back with {@link giveBackReadBuffer}. */
export function takeReadBuffer(): Buffer {
  return idle.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
}

/**
 * Returns a buffer from {@link takeReadBuffer}. Only once nothing (no queued write, no native
 * write request) can still read it: the next taker overwrites it with another connection's bytes.
 */
export function giveBackReadBuffer(b: Buffer): void {
  if (idle.length < MAX_IDLE_BUFFERS && b.length === READ_BUFFER_BYTES && b !== shared) idle.push(b);
}

/** How many pooled buffers sit idle now (for tests). */
export function idleReadBuffers(): number {
  return idle.length;
}
