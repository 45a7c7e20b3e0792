/**
 * The server side of one HTTP/2 connection (prior knowledge) on any byte stream: the inner
 * HTTP/2 of an HBONE tunnel, or a plain socket. Frames come from a {@link FrameReader}, go out
 * through a {@link FrameWriter} (one write per turn); HPACK is `./hpack/`.
 *
 * What it enforces (RFC 9113), beyond the reader's framing rules:
 * - stream states (§5.1): client streams odd and increasing; DATA, RST_STREAM or WINDOW_UPDATE
 *   on an idle stream, or HEADERS on a closed one, are connection errors; DATA or HEADERS after
 *   END_STREAM get RST_STREAM(STREAM_CLOSED); frames on streams we reset are ignored;
 * - SETTINGS_MAX_CONCURRENT_STREAMS: streams past it get RST_STREAM(REFUSED_STREAM);
 * - flow control both ways (§6.9): our windows (stream and connection) credited in batches of half
 *   a window; the peer's honoured by {@link H2ServerStream}; overflows are FLOW_CONTROL_ERROR;
 * - malformed requests (§8.1.1, §8.2, §8.3: `request-fields.ts`; content-length against DATA):
 *   RST_STREAM(PROTOCOL_ERROR); a header list over our limits: a 431 response;
 * - abuse: rapid reset ({@link ResetBudget}), a peer that sends control frames without reading the
 *   answers, floods of empty DATA frames: GOAWAY(ENHANCE_YOUR_CALM).
 * Connection errors send GOAWAY with the code and close; PRIORITY and unknown frames are ignored.
 */
import type { Duplex } from 'node:stream';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import { DEFAULT_WINDOW, ErrorCode, Flag, FrameType, MAX_STREAM_ID, MAX_WINDOW, SettingId } from './frame-types.js';
import { FrameWriter, type FrameSink } from './frame-writer.js';
import { HpackDecoder } from './hpack/hpack-decoder.js';
import { HpackEncoder } from './hpack/hpack-encoder.js';
import { HpackError } from './hpack/hpack-error.js';
import { applySettings, type SettingsTarget } from './peer-settings.js';
import { requestFields, trailerFields, type RequestFields } from './request-fields.js';
import { ResetBudget } from './reset-budget.js';
import { H2ServerStream, type StreamHost } from './server-stream.js';

export interface ServerConnectionOptions {
  readonly maxConcurrentStreams: number;
  /** RFC 9113 §6.5.2 list size (names + values + 32 per field) past which a request gets 431. */
  readonly maxHeaderListSize: number;
  /** Regular fields past which a request gets 431 (pseudo-headers are allowed 4 more). */
  readonly maxHeadersCount: number;
  readonly streamWindow: number;
  readonly connectionWindow: number;
}

export interface ServerConnectionOwner {
  /** A request whose head passed every check; the owner sets `stream.handler` now. */
  onRequest(stream: H2ServerStream, head: RequestFields): void;
  /** The transport closed; every stream has been told. */
  onConnectionClose(): void;
}

/** Unsent bytes past which a peer that keeps asking for answers (PING, SETTINGS) is cut off. */
const MAX_UNSENT_CONTROL = 1024 * 1024;
/** Empty DATA frames without END_STREAM a connection may send (CVE-2019-9518). */
const MAX_EMPTY_FRAMES = 1000;
/** Recently closed stream ids remembered, to tell "closed" from "never opened". */
const RECENT_CLOSED = 256;
/** After our side ended, how long the peer may take to close before the transport is destroyed. */
const LINGER_MS = 1000;
const TOO_LARGE_BODY = Buffer.from('Request Header Fields Too Large', 'latin1');

export class ServerConnection implements FrameHandler, StreamHost, FrameSink, SettingsTarget {
  readonly streams = new Map<number, H2ServerStream>();
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  private readonly resets = new ResetBudget();
  /** id → whether we reset it. */
  private readonly recentClosed = new Map<number, boolean>();
  private readonly waiting = new Set<H2ServerStream>();
  private lastPeerStream = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow: number;
  private recvUncredited = 0;
  private emptyFrames = 0;
  private blocked = false;
  /** Streams above this are refused (set by the final GOAWAY). */
  private goawayLast = MAX_STREAM_ID;
  private finalGoawaySent = false;
  private peerGoaway = false;
  private ending = false;
  private gone = false;
  /** The last byte read (the idle clock reads it). */
  lastActivity = Date.now();

  constructor(
    private readonly transport: Duplex,
    private readonly owner: ServerConnectionOwner,
    private readonly opts: ServerConnectionOptions,
  ) {
    // Fail closed on abuse: a block this large (compressed) is never a sane request.
    const maxBlock = Math.max(2 * opts.maxHeaderListSize, 64 * 1024) + 16 * 1024;
    this.reader = new FrameReader(this, maxBlock);
    this.decoder = new HpackDecoder({ hardListLimit: 4 * opts.maxHeaderListSize + 4096 });
    this.writer = new FrameWriter(this);
    this.recvWindow = opts.connectionWindow;
    this.writer.settings([
      [SettingId.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, opts.streamWindow],
      [SettingId.MAX_HEADER_LIST_SIZE, opts.maxHeaderListSize],
    ]);
    if (opts.connectionWindow > DEFAULT_WINDOW) this.writer.windowUpdate(0, opts.connectionWindow - DEFAULT_WINDOW);
    transport.on('data', this.onData);
    transport.on('drain', this.onDrain);
    transport.on('end', this.onEnd);
    transport.on('error', ignore);
    transport.once('close', this.onClose);
  }

  get closed(): boolean {
    return this.gone;
  }

  // --- transport events ---

  private readonly onData = (chunk: Buffer): void => {
    this.lastActivity = Date.now();
    this.reader.push(chunk);
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.wake();
  };

  private readonly onEnd = (): void => {
    // The client sends nothing more: requests still arriving never will.
    for (const s of [...this.streams.values()]) if (!s.remoteEnded) s.reset(ErrorCode.CANCEL);
    this.peerGoaway = true;
    this.maybeEnd();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.reader.stop();
    this.writer.close();
    for (const s of [...this.streams.values()]) s.close(ErrorCode.CANCEL);
    this.owner.onConnectionClose();
  };

  // --- FrameSink ---

  writeBatch(parts: Buffer[], _bytes: number): void {
    if (this.gone || this.transport.destroyed) return;
    const t = this.transport;
    let ok: boolean;
    if (parts.length === 1) ok = t.write(parts[0] as Buffer);
    else {
      t.cork();
      for (const p of parts) t.write(p);
      ok = t.writableLength < t.writableHighWaterMark;
      t.uncork();
    }
    if (!ok) this.blocked = true;
  }

  // --- FrameHandler ---

  onFrame(type: number, flags: number, stream: number, payload: Buffer, wireLength: number): void {
    switch (type) {
      case FrameType.DATA:
        return this.data(flags, stream, payload, wireLength);
      case FrameType.RST_STREAM:
        return this.rstReceived(stream, payload.readUInt32BE(0));
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) return;
        return this.settings(payload);
      case FrameType.PING:
        if (flags & Flag.ACK) return;
        this.writer.pingAck(payload);
        return this.checkUnsent();
      case FrameType.GOAWAY:
        this.peerGoaway = true;
        return this.maybeEnd();
      case FrameType.WINDOW_UPDATE:
        return this.windowUpdate(stream, payload.readUInt32BE(0) & 0x7fffffff);
      default:
        // PRIORITY: parsed by the reader, otherwise ignored (RFC 9113 §5.3.2).
        return;
    }
  }

  onStreamFrameError(stream: number, code: ErrorCode): void {
    const s = this.streams.get(stream);
    if (s) s.reset(code);
    else this.refuse(stream, code);
  }

  onFrameError(code: ErrorCode, reason: string): void {
    this.fail(code, reason);
  }

  onHeaderBlock(id: number, flags: number, block: Buffer, badPriority: boolean): void {
    // Decoded first, whatever becomes of the stream: the HPACK table is the connection's.
    let fields: string[];
    let listSize: number;
    try {
      ({ fields, listSize } = this.decoder.decode(block));
    } catch (err) {
      const calm = err instanceof HpackError && err.code === 'HEADER_LIST_TOO_LARGE';
      return this.fail(calm ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.COMPRESSION_ERROR, 'header block not decodable');
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const open = this.streams.get(id);
    if (open) return this.trailers(open, fields, endStream, badPriority);
    if (id <= this.lastPeerStream) {
      const ours = this.recentClosed.get(id);
      if (ours === true) return;
      return this.fail(ours === undefined ? ErrorCode.PROTOCOL_ERROR : ErrorCode.STREAM_CLOSED, 'HEADERS on a closed stream');
    }
    if (id % 2 === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'even stream id from a client');
    this.lastPeerStream = id;
    if (badPriority) return this.refuse(id, ErrorCode.PROTOCOL_ERROR);
    if (id > this.goawayLast || this.ending) return this.refuse(id, ErrorCode.REFUSED_STREAM);
    if (this.streams.size >= this.opts.maxConcurrentStreams) {
      if (!this.resets.charge(this.lastActivity)) return this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'too many refused streams');
      return this.refuse(id, ErrorCode.REFUSED_STREAM);
    }
    const head = requestFields(fields);
    if (!head || (endStream && head.contentLength > 0)) return this.refuse(id, ErrorCode.PROTOCOL_ERROR);
    const s = new H2ServerStream(id, this, this.peerInitialWindow, this.opts.streamWindow, endStream, head.contentLength, this.lastActivity);
    this.streams.set(id, s);
    if (fields.length / 2 > this.opts.maxHeadersCount + 4 || listSize > this.opts.maxHeaderListSize) {
      s.respond([':status', '431', 'content-type', 'text/plain'], false);
      s.write(TOO_LARGE_BODY);
      s.end();
      return;
    }
    this.owner.onRequest(s, head);
  }

  // --- frames ---

  private data(flags: number, id: number, payload: Buffer, wireLength: number): void {
    this.recvWindow -= wireLength;
    if (this.recvWindow < 0) return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window exceeded');
    this.recvUncredited += wireLength;
    if (this.recvUncredited >= this.opts.connectionWindow / 2) {
      this.writer.windowUpdate(0, this.recvUncredited);
      this.recvWindow += this.recvUncredited;
      this.recvUncredited = 0;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const n = payload.length;
    if (n === 0 && !endStream && ++this.emptyFrames > MAX_EMPTY_FRAMES) return this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'empty DATA frames');
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastPeerStream) return this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      if (this.recentClosed.get(id) !== true) this.refuse(id, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (s.remoteEnded) return s.reset(ErrorCode.STREAM_CLOSED);
    s.recvWindow -= wireLength;
    if (s.recvWindow < 0) return s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    s.received += n;
    if (s.contentLength >= 0 && (s.received > s.contentLength || (endStream && s.received !== s.contentLength))) return s.reset(ErrorCode.PROTOCOL_ERROR);
    s.lastActivity = this.lastActivity;
    // Padding is credited at once; data once the handler has taken it.
    if (wireLength > n) this.creditStream(s, wireLength - n);
    if (n > 0) {
      if (s.holding || !(s.handler?.onData(payload) ?? true)) {
        s.holding = true;
        s.heldCredit += n;
      } else this.creditStream(s, n);
    }
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  private trailers(s: H2ServerStream, fields: string[], endStream: boolean, badPriority: boolean): void {
    if (s.remoteEnded) return s.reset(ErrorCode.STREAM_CLOSED);
    const t = trailerFields(fields);
    if (!endStream || badPriority || !t || (s.contentLength >= 0 && s.received !== s.contentLength)) return s.reset(ErrorCode.PROTOCOL_ERROR);
    s.lastActivity = this.lastActivity;
    if (t.length > 0) s.handler?.onTrailers(t);
    if (!s.closed) this.remoteEnd(s);
  }

  private remoteEnd(s: H2ServerStream): void {
    s.remoteEnded = true;
    s.handler?.onEnd();
    if (s.localEnded && !s.closed) s.close(undefined);
  }

  private rstReceived(id: number, code: number): void {
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastPeerStream) this.fail(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
      return;
    }
    // A stream reset before its response was whole: work without an answer (rapid reset).
    if (!s.localEnded && !this.resets.charge(Date.now())) {
      s.close(code);
      return this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'too many resets');
    }
    s.close(code);
  }

  private settings(payload: Buffer): void {
    const err = applySettings(payload, this);
    if (err !== undefined) return this.fail(err, 'bad SETTINGS');
    this.writer.settingsAck();
    this.checkUnsent();
    this.wake();
  }

  private windowUpdate(id: number, inc: number): void {
    if (id === 0) {
      if (inc === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow');
      return this.wake();
    }
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastPeerStream) this.fail(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (inc === 0) return s.reset(ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    s.pump();
    s.drained();
  }

  // --- SettingsTarget ---

  setPeerHeaderTableSize(n: number): void {
    this.encoder.setPeerMaxTableSize(n);
  }

  setPeerMaxFrameSize(n: number): void {
    this.writer.peerMaxFrameSize = n;
  }

  setPeerInitialWindow(n: number): boolean {
    const delta = n - this.peerInitialWindow;
    this.peerInitialWindow = n;
    for (const s of this.streams.values()) {
      s.sendWindow += delta;
      if (s.sendWindow > MAX_WINDOW) return false;
    }
    return true;
  }

  // --- StreamHost ---

  get connectionSendWindow(): number {
    return this.sendWindow;
  }

  chargeConnectionWindow(n: number): void {
    this.sendWindow -= n;
  }

  get peerMaxFrameSize(): number {
    return this.writer.peerMaxFrameSize;
  }

  get turn(): number {
    return this.writer.turn;
  }

  get writable(): boolean {
    return !this.blocked;
  }

  sendHeaders(s: H2ServerStream, fields: readonly string[], endStream: boolean): Buffer {
    s.lastActivity = Date.now();
    return this.writer.headers(s.id, this.encoder.encode(fields), endStream);
  }

  sendData(s: H2ServerStream, chunk: Buffer, endStream: boolean): Buffer {
    return this.writer.data(s.id, chunk, endStream);
  }

  waitFor(s: H2ServerStream): void {
    this.waiting.add(s);
  }

  creditStream(s: H2ServerStream, n: number): void {
    if (s.remoteEnded || s.closed) return;
    s.uncredited += n;
    if (s.uncredited < this.opts.streamWindow / 2) return;
    this.writer.windowUpdate(s.id, s.uncredited);
    s.recvWindow += s.uncredited;
    s.uncredited = 0;
  }

  rstStream(s: H2ServerStream, code: ErrorCode): void {
    this.writer.rstStream(s.id, code);
    this.remember(s.id, true);
  }

  streamClosed(s: H2ServerStream): void {
    this.streams.delete(s.id);
    this.waiting.delete(s);
    if (!this.recentClosed.has(s.id)) this.remember(s.id, false);
    this.maybeEnd();
  }

  // --- connection lifecycle ---

  /** GOAWAY naming `last` (2^31-1: the drain's first notice); streams above it are refused. */
  goAway(last: number): void {
    if (this.ending || this.gone) return;
    const id = last === MAX_STREAM_ID ? MAX_STREAM_ID : this.lastPeerStream;
    if (id !== MAX_STREAM_ID) {
      this.goawayLast = id;
      this.finalGoawaySent = true;
    }
    this.writer.goaway(id, ErrorCode.NO_ERROR);
    this.maybeEnd();
  }

  /** The final GOAWAY; the connection closes once its streams are done. */
  shutdown(): void {
    if (this.finalGoawaySent) return;
    this.goAway(0);
  }

  destroy(): void {
    this.transport.destroy();
  }

  /** A connection error: GOAWAY with `code`, every stream closed, the transport ended. */
  fail(code: ErrorCode, reason: string): void {
    if (this.ending || this.gone) return;
    this.reader.stop();
    this.writer.goaway(this.lastPeerStream, code, reason);
    this.endTransport();
    for (const s of [...this.streams.values()]) s.close(code);
  }

  private maybeEnd(): void {
    if (this.ending || this.gone || this.streams.size > 0) return;
    if (!this.finalGoawaySent && !this.peerGoaway) return;
    // Closing because the peer went away: our GOAWAY still says which streams were processed.
    if (!this.finalGoawaySent && !this.transport.destroyed) this.writer.goaway(this.lastPeerStream, ErrorCode.NO_ERROR);
    this.endTransport();
  }

  private endTransport(): void {
    this.ending = true;
    this.reader.stop();
    this.writer.flush();
    this.writer.close();
    const t = this.transport;
    if (t.destroyed) return;
    t.end();
    const timer = setTimeout(() => t.destroy(), LINGER_MS);
    timer.unref();
    t.once('close', () => clearTimeout(timer));
  }

  private refuse(id: number, code: ErrorCode): void {
    this.writer.rstStream(id, code);
    this.remember(id, true);
    this.checkUnsent();
  }

  private remember(id: number, ours: boolean): void {
    if (this.recentClosed.size >= RECENT_CLOSED) this.recentClosed.delete(this.recentClosed.keys().next().value as number);
    this.recentClosed.set(id, ours);
  }

  /** A peer that asks for answers (PING, SETTINGS, refusals) faster than it reads them. */
  private checkUnsent(): void {
    if (this.writer.queuedBytes + this.transport.writableLength > MAX_UNSENT_CONTROL) this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'peer does not read');
  }

  /** A window opened or the transport drained: streams waiting send again. */
  private wake(): void {
    if (this.waiting.size === 0) return;
    const ws = [...this.waiting];
    this.waiting.clear();
    for (const s of ws) {
      s.pump();
      s.drained();
    }
  }
}

function ignore(): void {
  // Transport errors end in 'close', where every stream learns it is gone.
}
