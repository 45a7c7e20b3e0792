/**
 * Counts the header fields a client put in each HTTP/2 header block, so the waypoint can tell
 * when Node's codec dropped some.
 *
 * RFC 9113 §8.2.1: a field whose name is not a lowercase token, or whose value holds CR, LF or
 * NUL (or starts or ends with whitespace), makes the request malformed, and a malformed request
 * is a stream error (PROTOCOL_ERROR). nghttp2, under Node, instead drops such a regular field and
 * serves the rest of the request (its invalid-header callback is a no-op in Node 20 and 24), so
 * a request would be routed, authorized and forwarded without a field the client sent — a field
 * a hop behind the client may have read differently. Node exposes no hook for it; what it does
 * expose is the raw field list of each block. Counting the field representations in the block as
 * sent (RFC 7541 §6: every representation but a table-size update is one field; no Huffman or
 * table needed to count them) and comparing with what Node delivered finds every drop.
 *
 * The counter reads the client's bytes as they pass (a `'data'` listener attached before the
 * session's): frame headers, and the payload of HEADERS and CONTINUATION frames only.
 */

const PREFACE_LENGTH = 24;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** Counts kept for blocks whose stream Node has not surfaced (refused, reset); oldest go first. */
const MAX_PENDING = 512;
/** A header block larger than this is not counted (nghttp2 refuses it well before: 60 KiB list). */
const MAX_BLOCK_BYTES = 256 * 1024;
/** A block that could not be counted (Node's HPACK decoder fails the connection for it anyway). */
export const UNCOUNTED = -1;

export class H2FieldCounter {
  /** Stream id → counts of its header blocks not yet checked, in order (headers, then trailers). */
  private readonly pending = new Map<number, number[]>();
  private prefaceLeft = PREFACE_LENGTH;
  private readonly head = Buffer.alloc(9);
  private headFill = 0;
  /** Bytes of the current frame's payload still to come. */
  private payloadLeft = 0;
  /** The current frame is part of a header block (its payload is collected). */
  private collecting = false;
  private frameFlags = 0;
  private frameType = 0;
  private frameStream = 0;
  private framePayload: Buffer[] = [];
  /** Fragments of a header block waiting for END_HEADERS. */
  private block: Buffer[] = [];
  private blockBytes = 0;
  private blockStream = 0;

  /** The client's bytes, in order. */
  readonly push = (chunk: Buffer): void => {
    let i = 0;
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= n;
      i = n;
    }
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - i);
        if (this.collecting && (this.blockBytes += n) <= MAX_BLOCK_BYTES) this.framePayload.push(chunk.subarray(i, i + n));
        this.payloadLeft -= n;
        i += n;
        if (this.payloadLeft === 0 && this.collecting) this.endFrame();
        continue;
      }
      const n = Math.min(9 - this.headFill, chunk.length - i);
      chunk.copy(this.head, this.headFill, i, i + n);
      this.headFill += n;
      i += n;
      if (this.headFill === 9) {
        this.headFill = 0;
        this.startFrame();
      }
    }
  };

  /**
   * The field count of the next header block of `streamId` (its headers, then its trailers), or
   * undefined when no block of that stream was seen.
   */
  take(streamId: number): number | undefined {
    const counts = this.pending.get(streamId);
    if (counts === undefined) return undefined;
    const n = counts.shift();
    if (counts.length === 0) this.pending.delete(streamId);
    return n;
  }

  private startFrame(): void {
    const h = this.head;
    const length = (h[0] as number) * 65536 + (h[1] as number) * 256 + (h[2] as number);
    this.frameType = h[3] as number;
    this.frameFlags = h[4] as number;
    this.frameStream = h.readUInt32BE(5) & 0x7fffffff;
    this.collecting = this.frameType === TYPE_HEADERS || this.frameType === TYPE_CONTINUATION;
    this.framePayload = [];
    // A new block starts its size count; CONTINUATION frames add to the open one's.
    if (this.frameType === TYPE_HEADERS) this.blockBytes = 0;
    this.payloadLeft = length;
    if (length === 0 && this.collecting) this.endFrame();
  }

  private endFrame(): void {
    this.collecting = false;
    let payload = this.framePayload.length === 1 ? (this.framePayload[0] as Buffer) : Buffer.concat(this.framePayload);
    this.framePayload = [];
    if (this.frameType === TYPE_HEADERS) {
      this.block = [];
      this.blockStream = this.frameStream;
      let start = 0;
      let end = payload.length;
      if (this.frameFlags & FLAG_PADDED) {
        end -= payload.length > 0 ? (payload[0] as number) : 0;
        start = 1;
      }
      if (this.frameFlags & FLAG_PRIORITY) start += 5;
      payload = start <= end ? payload.subarray(start, end) : Buffer.alloc(0);
    } else if (this.frameStream !== this.blockStream) return;
    this.block.push(payload);
    if (!(this.frameFlags & FLAG_END_HEADERS)) return;
    const whole = this.block.length === 1 ? (this.block[0] as Buffer) : Buffer.concat(this.block);
    this.block = [];
    const oversized = this.blockBytes > MAX_BLOCK_BYTES;
    this.blockBytes = 0;
    this.record(this.blockStream, oversized ? UNCOUNTED : countFields(whole));
  }

  private record(streamId: number, count: number): void {
    const counts = this.pending.get(streamId);
    if (counts) counts.push(count);
    else {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as number);
      this.pending.set(streamId, [count]);
    }
  }
}

/** The header fields in an HPACK block (RFC 7541 §6), or {@link UNCOUNTED} when it is malformed. */
export function countFields(block: Buffer): number {
  let i = 0;
  let fields = 0;
  while (i < block.length) {
    const b = block[i] as number;
    if (b & 0x80) {
      // Indexed field.
      i = skipInt(block, i, 7);
      fields++;
    } else if ((b & 0xe0) === 0x20) {
      // Dynamic table size update: not a field.
      i = skipInt(block, i, 5);
    } else {
      // Literal: with incremental indexing (6-bit index), else without / never indexed (4-bit).
      const prefix = (b & 0xc0) === 0x40 ? 6 : 4;
      const nameIndexed = (b & ((1 << prefix) - 1)) !== 0;
      i = skipInt(block, i, prefix);
      if (!nameIndexed) i = skipString(block, i);
      i = skipString(block, i);
      fields++;
    }
    if (i < 0) return UNCOUNTED;
  }
  return fields;
}

/** Past an HPACK integer with an n-bit prefix at `i` (RFC 7541 §5.1); -1 when truncated. */
function skipInt(b: Buffer, i: number, prefixBits: number): number {
  if (i < 0 || i >= b.length) return -1;
  const max = (1 << prefixBits) - 1;
  if (((b[i] as number) & max) !== max) return i + 1;
  i++;
  while (i < b.length) {
    if (((b[i++] as number) & 0x80) === 0) return i;
  }
  return -1;
}

/** Past an HPACK string literal at `i` (RFC 7541 §5.2); -1 when truncated or absurd. */
function skipString(b: Buffer, i: number): number {
  if (i < 0 || i >= b.length) return -1;
  const max = 0x7f;
  let len = (b[i] as number) & max;
  i++;
  if (len === max) {
    let shift = 0;
    for (;;) {
      if (i >= b.length || shift > 28) return -1;
      const c = b[i++] as number;
      len += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if ((c & 0x80) === 0) break;
    }
  }
  const end = i + len;
  return end <= b.length ? end : -1;
}
