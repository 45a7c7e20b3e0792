/**
 * HPACK prefix integers (RFC 7541 §5.1). Decoding is strict: a value must fit in 31 bits and take
 * at most five continuation bytes (enough for 2^31 - 1 after any prefix), so a peer cannot make
 * the decoder count forever or lose precision.
 */
import { compressionError } from './hpack-error.js';

/** Where the decoder reads next; the decoder passes itself, so reading allocates nothing. */
export interface Cursor {
  pos: number;
}

const MAX_CONTINUATION_BYTES = 5;
export const MAX_HPACK_INTEGER = 0x7fffffff;

/**
 * Reads an integer whose first byte is `buf[cur.pos]` with a `prefixBits`-bit prefix, up to
 * `end`; advances `cur.pos` past it.
 */
export function readInteger(buf: Uint8Array, cur: Cursor, end: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  let pos = cur.pos;
  let value = (buf[pos++] as number) & mask;
  if (value < mask) {
    cur.pos = pos;
    return value;
  }
  let scale = 1;
  for (let n = 0; ; n++) {
    if (pos >= end) throw compressionError('truncated integer');
    if (n === MAX_CONTINUATION_BYTES) throw compressionError('integer has too many continuation bytes');
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if (value > MAX_HPACK_INTEGER) throw compressionError('integer overflows 2^31 - 1');
    if ((b & 0x80) === 0) {
      cur.pos = pos;
      return value;
    }
    scale *= 128;
  }
}

/**
 * Writes `value` with a `prefixBits`-bit prefix whose other bits are `flags` at `buf[pos]`;
 * returns the position after it. The caller guarantees room (at most 6 bytes for 31 bits).
 */
export function writeInteger(buf: Uint8Array, pos: number, value: number, prefixBits: number, flags: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | mask;
  value -= mask;
  while (value >= 128) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}
