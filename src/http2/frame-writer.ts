/**
 * Builds the frames a server sends (RFC 9113 §6) and gathers every frame produced in one turn of
 * the event loop into one write on the transport: the frames of many streams' responses, acks
 * and window updates leave as one buffer (or one corked batch when large), so the tunnel under
 * the connection — an HBONE stream, itself framed and encrypted — is written once per turn
 * instead of once per frame. That batching is most of what an own codec saves over nghttp2 fed
 * through a JS stream socket (docs/performance.md, session 6).
 *
 * Flow control and splitting DATA by window are the connection's business; this file splits only
 * header blocks (HEADERS + CONTINUATION) by the peer's SETTINGS_MAX_FRAME_SIZE.
 */
import { DEFAULT_MAX_FRAME_SIZE, ErrorCode, Flag, FrameType } from './frame-types.js';

/** Below this a batch is copied into one buffer; above, written as a corked batch of views. */
const COPY_BELOW = 64 * 1024;

/** Where a batch goes: one buffer, or several to write as one batch. */
export interface FrameSink {
  writeBatch(parts: Buffer[], bytes: number): void;
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h[0] = (length >>> 16) & 0xff;
  h[1] = (length >>> 8) & 0xff;
  h[2] = length & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream >>> 0, 5);
  return h;
}

export class FrameWriter {
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private closed = false;
  /** Counts flushes: a frame queued in the current turn can still be changed in place. */
  turn = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Bytes queued for this turn's write. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Nothing more is written (the transport is gone). */
  close(): void {
    this.closed = true;
    this.parts = [];
    this.bytes = 0;
  }

  private push(b: Buffer): void {
    if (this.closed) return;
    this.parts.push(b);
    this.bytes += b.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private control(type: number, flags: number, stream: number, payload: Buffer): void {
    this.push(frameHeader(payload.length, type, flags, stream));
    if (payload.length > 0) this.push(payload);
  }

  /** Writes what this turn produced now. */
  readonly flush = (): void => {
    this.scheduled = false;
    this.turn++;
    if (this.bytes === 0 || this.closed) return;
    const parts = this.parts;
    const bytes = this.bytes;
    this.parts = [];
    this.bytes = 0;
    if (bytes < COPY_BELOW && parts.length > 1) this.sink.writeBatch([Buffer.concat(parts, bytes)], bytes);
    else this.sink.writeBatch(parts, bytes);
  };

  /**
   * One DATA frame (the caller keeps it within the peer's frame size and windows); answers its
   * frame header, whose END_STREAM flag may still be set until this turn's write.
   */
  data(stream: number, chunk: Buffer, endStream: boolean): Buffer {
    const h = frameHeader(chunk.length, FrameType.DATA, endStream ? Flag.END_STREAM : 0, stream);
    this.push(h);
    if (chunk.length > 0) this.push(chunk);
    return h;
  }

  /**
   * A header block as HEADERS [+ CONTINUATION...], split by the peer's max frame size; answers
   * the HEADERS frame's header (END_STREAM may still be set on it until this turn's write).
   */
  headers(stream: number, block: Buffer, endStream: boolean): Buffer {
    const max = this.peerMaxFrameSize;
    const es = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      const h = frameHeader(block.length, FrameType.HEADERS, es | Flag.END_HEADERS, stream);
      this.push(h);
      if (block.length > 0) this.push(block);
      return h;
    }
    const h = frameHeader(max, FrameType.HEADERS, es, stream);
    this.push(h);
    this.push(block.subarray(0, max));
    for (let at = max; at < block.length; at += max) {
      const last = at + max >= block.length;
      this.control(FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, stream, block.subarray(at, Math.min(at + max, block.length)));
    }
    return h;
  }

  settings(entries: ReadonlyArray<readonly [number, number]>): void {
    const p = Buffer.allocUnsafe(entries.length * 6);
    entries.forEach(([id, value], i) => {
      p.writeUInt16BE(id, i * 6);
      p.writeUInt32BE(value >>> 0, i * 6 + 2);
    });
    this.control(FrameType.SETTINGS, 0, 0, p);
  }

  settingsAck(): void {
    this.control(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0));
  }

  pingAck(opaque: Buffer): void {
    this.control(FrameType.PING, Flag.ACK, 0, Buffer.from(opaque));
  }

  goaway(lastStream: number, code: ErrorCode, debug = ''): void {
    const d = Buffer.from(debug, 'latin1');
    const p = Buffer.allocUnsafe(8 + d.length);
    p.writeUInt32BE(lastStream >>> 0, 0);
    p.writeUInt32BE(code >>> 0, 4);
    d.copy(p, 8);
    this.control(FrameType.GOAWAY, 0, 0, p);
  }

  rstStream(stream: number, code: ErrorCode): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(code >>> 0, 0);
    this.control(FrameType.RST_STREAM, 0, stream, p);
  }

  windowUpdate(stream: number, increment: number): void {
    const p = Buffer.allocUnsafe(4);
    p.writeUInt32BE(increment >>> 0, 0);
    this.control(FrameType.WINDOW_UPDATE, 0, stream, p);
  }
}
