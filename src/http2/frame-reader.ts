/**
 * Cuts an HTTP/2 byte stream (after the client preface, which it checks) into frames and applies
 * every rule that needs no stream state (RFC 9113 §4–§6):
 * - a frame longer than our SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR;
 * - fixed lengths (PRIORITY 5, RST_STREAM 4, PING 8, WINDOW_UPDATE 4, SETTINGS a multiple of 6
 *   and empty with ACK, GOAWAY at least 8): FRAME_SIZE_ERROR (a PRIORITY frame's is a stream
 *   error, the rest connection errors);
 * - frames that belong on stream 0 and frames that must not be there: PROTOCOL_ERROR;
 * - padding (DATA, HEADERS) as long as the payload or longer: PROTOCOL_ERROR; the handler gets the
 *   payload without padding (and without HEADERS' priority fields) and, for DATA, the length that
 *   counts against flow control;
 * - CONTINUATION sequencing: a header block is delivered whole once END_HEADERS arrives, and any
 *   other frame in between is a PROTOCOL_ERROR; a block larger than `maxBlockBytes` or split
 *   into absurdly many frames (a CONTINUATION flood) is ENHANCE_YOUR_CALM;
 * - PUSH_PROMISE (from a client, or to our client, which disables push): PROTOCOL_ERROR. Unknown frame types are skipped (§5.5).
 *
 * Whole frames in a chunk are handed on as views of it (no copy); only a frame split across
 * chunks is joined, once, when its last byte has arrived.
 */
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, ErrorCode, Flag, FrameType } from './frame-types.js';

export interface FrameHandler {
  /** A frame other than HEADERS/CONTINUATION/unknown; `wireLength`: its whole payload length. */
  onFrame(type: number, flags: number, stream: number, payload: Buffer, wireLength: number): void;
  /**
   * A whole header block (HEADERS and its CONTINUATIONs). `badPriority`: the HEADERS frame made
   * the stream depend on itself (a stream error, after the block has been decoded).
   */
  onHeaderBlock(stream: number, flags: number, block: Buffer, badPriority: boolean): void;
  /** A stream error found by framing alone. */
  onStreamFrameError(stream: number, code: ErrorCode): void;
  /** A connection error: nothing more is read. */
  onFrameError(code: ErrorCode, reason: string): void;
}

/** Frames one header block may span: 60 KiB of fields needs 4 at the default frame size. */
const MAX_BLOCK_FRAMES = 256;
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** What we advertised as SETTINGS_MAX_FRAME_SIZE. */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private prefaceLeft = CLIENT_PREFACE.length;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private need = 0;
  private failed = false;
  /** The stream whose header block is open (0: none). */
  private blockStream = 0;
  private blockFlags = 0;
  private blockBadPriority = false;
  private blockParts: Buffer[] = [];
  private blockBytes = 0;

  constructor(
    private readonly handler: FrameHandler,
    private readonly maxBlockBytes: number,
    /** A server reads the client preface first; a client reads frames from the first byte. */
    expectPreface = true,
  ) {
    if (!expectPreface) this.prefaceLeft = 0;
  }

  /** No more frames are delivered (the connection is ending). */
  stop(): void {
    this.failed = true;
    this.held = [];
    this.blockParts = [];
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buf = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.need) return;
      buf = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
    }
    let i = 0;
    if (this.prefaceLeft > 0) {
      i = this.preface(buf);
      if (i < 0) return;
    }
    const n = buf.length;
    while (i < n && !this.failed) {
      if (n - i < 9) return this.hold(buf, i, 9);
      const length = ((buf[i] as number) << 16) | ((buf[i + 1] as number) << 8) | (buf[i + 2] as number);
      if (length > this.maxFrameSize) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'frame larger than SETTINGS_MAX_FRAME_SIZE');
      const end = i + 9 + length;
      if (end > n) return this.hold(buf, i, 9 + length);
      const stream = buf.readUInt32BE(i + 5) & 0x7fffffff;
      this.frame(buf[i + 3] as number, buf[i + 4] as number, stream, buf.subarray(i + 9, end));
      i = end;
    }
  }

  /** Checks the preface bytes at the start of `buf`; the offset after them, or -1. */
  private preface(buf: Buffer): number {
    const start = CLIENT_PREFACE.length - this.prefaceLeft;
    const n = Math.min(this.prefaceLeft, buf.length);
    if (CLIENT_PREFACE.compare(buf, 0, n, start, start + n) !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
      return -1;
    }
    this.prefaceLeft -= n;
    return n;
  }

  private hold(buf: Buffer, i: number, need: number): void {
    this.held.push(i === 0 ? buf : buf.subarray(i));
    this.heldBytes = buf.length - i;
    this.need = need;
  }

  private fail(code: ErrorCode, reason: string): void {
    if (this.failed) return;
    this.stop();
    this.handler.onFrameError(code, reason);
  }

  private frame(type: number, flags: number, stream: number, payload: Buffer): void {
    if (this.blockStream !== 0) {
      if (type !== FrameType.CONTINUATION || stream !== this.blockStream) return this.fail(ErrorCode.PROTOCOL_ERROR, 'header block interrupted');
      return this.continuation(flags, payload);
    }
    const length = payload.length;
    switch (type) {
      case FrameType.DATA: {
        if (stream === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
        const body = this.unpad(flags, payload, 0);
        if (body) this.handler.onFrame(type, flags, stream, body, length);
        return;
      }
      case FrameType.HEADERS:
        return this.headers(flags, stream, payload);
      case FrameType.PRIORITY:
        if (stream === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (length !== 5) return this.handler.onStreamFrameError(stream, ErrorCode.FRAME_SIZE_ERROR);
        if ((payload.readUInt32BE(0) & 0x7fffffff) === stream) return this.handler.onStreamFrameError(stream, ErrorCode.PROTOCOL_ERROR);
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.RST_STREAM:
        if (stream === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (length !== 4) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.SETTINGS:
        if (stream !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
        if (length % 6 !== 0 || (flags & Flag.ACK && length !== 0)) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.PUSH_PROMISE:
        // From a client it is never allowed; our client side disables push (§8.4).
        return this.fail(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        if (stream !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (length !== 8) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.GOAWAY:
        if (stream !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (length < 8) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY length');
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.WINDOW_UPDATE:
        if (length !== 4) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
        return this.handler.onFrame(type, flags, stream, payload, length);
      case FrameType.CONTINUATION:
        return this.fail(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block');
      default:
        // Unknown types are ignored (RFC 9113 §5.5).
        return;
    }
  }

  /** The payload without padding (and `skip` bytes after the pad length), or undefined after an error. */
  private unpad(flags: number, payload: Buffer, skip: number): Buffer | undefined {
    if (!(flags & Flag.PADDED)) {
      if (payload.length < skip) {
        this.fail(ErrorCode.FRAME_SIZE_ERROR, 'frame too short');
        return undefined;
      }
      return skip === 0 ? payload : payload.subarray(skip);
    }
    if (payload.length < 1 + skip) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR, 'frame too short for its padding');
      return undefined;
    }
    const pad = payload[0] as number;
    if (pad >= payload.length - skip) {
      this.fail(ErrorCode.PROTOCOL_ERROR, 'padding as long as the payload');
      return undefined;
    }
    return payload.subarray(1 + skip, payload.length - pad);
  }

  private headers(flags: number, stream: number, payload: Buffer): void {
    if (stream === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    const priority = flags & Flag.PRIORITY ? 5 : 0;
    const fragment = this.unpad(flags, payload, priority);
    if (!fragment) return;
    let badPriority = false;
    if (priority > 0) {
      const at = flags & Flag.PADDED ? 1 : 0;
      badPriority = (payload.readUInt32BE(at) & 0x7fffffff) === stream;
    }
    if (flags & Flag.END_HEADERS) return this.handler.onHeaderBlock(stream, flags, fragment, badPriority);
    this.blockStream = stream;
    this.blockFlags = flags;
    this.blockBadPriority = badPriority;
    this.blockParts = [fragment];
    this.blockBytes = fragment.length;
  }

  private continuation(flags: number, payload: Buffer): void {
    this.blockBytes += payload.length;
    this.blockParts.push(payload);
    if (this.blockBytes > this.maxBlockBytes || this.blockParts.length > MAX_BLOCK_FRAMES) {
      return this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    }
    if (!(flags & Flag.END_HEADERS)) return;
    const stream = this.blockStream;
    const parts = this.blockParts;
    const block = parts.length === 1 ? (parts[0] as Buffer) : parts.length === 0 ? EMPTY : Buffer.concat(parts, this.blockBytes);
    this.blockStream = 0;
    this.blockParts = [];
    this.handler.onHeaderBlock(stream, this.blockFlags, block, this.blockBadPriority);
  }
}
