/**
 * The output side and life cycle of a server HTTP/2 connection ({@link ServerConnection} reads
 * frames on top of it): the frame writer and HPACK encoder, the peer's flow-control windows and
 * the streams waiting for them, the transport's backpressure, RST_STREAM bookkeeping (which
 * closed streams we reset, so frames still in flight on them are ignored), GOAWAY and the
 * graceful and failing ends of the connection. It is the {@link StreamHost} of every stream.
 */
import type { Duplex } from 'node:stream';
import { raiseWriteHighWaterMark } from '../net/bulk-high-water-mark.js';
import { DEFAULT_WINDOW, ErrorCode, Flag, FrameType, MAX_STREAM_ID, MAX_WINDOW } from './frame-types.js';
import { FrameWriter, type FrameSink } from './frame-writer.js';
import { HpackEncoder } from './hpack/hpack-encoder.js';
import type { SettingsTarget } from './peer-settings.js';
import type { H2ServerStream, StreamHost } from './server-stream.js';

/**
 * Answers (PING and SETTINGS acks, refusals) queued without the transport taking a write, past
 * which a peer that keeps asking and never reads is cut off (nghttp2 bounds its outbound queue of
 * such frames the same way). Response data does not count: its volume is bounded by windows.
 */
const MAX_PENDING_CONTROL = 10_000;
/** Recently closed stream ids remembered, to tell "closed" from "never opened". */
const RECENT_CLOSED = 256;
/** After our side ended, how long the peer may take to close before the transport is destroyed. */
const LINGER_MS = 1000;

/** What a connection does with its transport's events (see {@link ConnectionOutput.openConnection}). */
export interface TransportHandlers {
  readonly data: (chunk: Buffer) => void;
  readonly end: () => void;
  readonly close: () => void;
}

/**
 * Bounds on one header block a peer may send: its compressed size (the frame reader's cap; a block
 * this large is never a sane message) and the decoded list size past which decoding stops.
 */
export function headerBlockLimits(maxHeaderListSize: number): { readonly maxBlock: number; readonly hardListLimit: number } {
  return { maxBlock: Math.max(2 * maxHeaderListSize, 64 * 1024) + 16 * 1024, hardListLimit: 4 * maxHeaderListSize + 4096 };
}

function ignoreError(): void {
  // Transport errors end in 'close', where every stream learns it is gone.
}

export abstract class ConnectionOutput implements StreamHost, FrameSink, SettingsTarget {
  readonly streams = new Map<number, H2ServerStream>();
  protected readonly writer: FrameWriter;
  protected readonly encoder = new HpackEncoder();
  /** id → whether we reset it. */
  protected readonly recentClosed = new Map<number, boolean>();
  private readonly waiting = new Set<H2ServerStream>();
  protected lastPeerStream = 0;
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected sendWindow = DEFAULT_WINDOW;
  private blocked = false;
  private controlPending = 0;
  /** Streams above this are refused (set by the final GOAWAY). */
  protected goawayLast = MAX_STREAM_ID;
  private finalGoawaySent = false;
  protected peerGoaway = false;
  protected ending = false;
  protected gone = false;
  private recvWindow: number;
  private recvUncredited = 0;

  constructor(
    protected readonly transport: Duplex,
    private readonly streamWindow: number,
    private readonly connectionWindow: number,
  ) {
    this.recvWindow = connectionWindow;
    this.writer = new FrameWriter(this);
    // A response body relayed from upstream pauses its source only past this (as HTTP/1.1 does).
    raiseWriteHighWaterMark(transport);
  }

  /**
   * How both sides open, after any preface: our SETTINGS, the connection window above the
   * protocol's default, and the transport's events (a transport error arrives as its close).
   */
  protected openConnection(settings: ReadonlyArray<readonly [number, number]>, on: TransportHandlers): void {
    this.writer.settings(settings);
    if (this.connectionWindow > DEFAULT_WINDOW) this.writer.windowUpdate(0, this.connectionWindow - DEFAULT_WINDOW);
    const t = this.transport;
    t.on('data', on.data);
    t.on('drain', () => this.transportDrained());
    t.on('end', on.end);
    t.on('error', ignoreError);
    t.once('close', on.close);
  }

  /** Nothing more is read (the reader stops). */
  protected abstract stopReading(): void;

  /** `id` names a stream the peer cannot have seen open yet (frames on it are connection errors). */
  protected abstract isIdle(id: number): boolean;

  /** A DATA frame; `wireLength` counts its padding against the windows. */
  protected abstract data(flags: number, id: number, payload: Buffer, wireLength: number): void;
  protected abstract rstReceived(id: number, code: number): void;
  /** A SETTINGS frame that is not an ACK. */
  protected abstract settings(payload: Buffer): void;
  protected abstract goawayReceived(lastStream: number, code: number): void;

  /**
   * The frames both sides handle alike (FrameHandler.onFrame: all but header blocks): PING and
   * SETTINGS acks, windows, and the side-specific hooks above. PRIORITY is parsed by the reader
   * and otherwise ignored (RFC 9113 §5.3.2), as are unknown types.
   */
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
        return this.goawayReceived(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
      case FrameType.WINDOW_UPDATE:
        return this.windowUpdate(stream, payload.readUInt32BE(0) & 0x7fffffff);
      default:
        return;
    }
  }

  get closed(): boolean {
    return this.gone;
  }

  /** The transport drained. */
  protected transportDrained(): void {
    this.blocked = false;
    this.controlPending = 0;
    this.wake();
  }

  // --- FrameSink ---

  writeBatch(parts: Buffer[], _bytes: number): void {
    if (this.gone || this.transport.destroyed) return;
    const t = this.transport;
    let ok: boolean;
    if (parts.length === 1) ok = t.write(parts[0]);
    else {
      t.cork();
      for (const p of parts) t.write(p);
      ok = t.writableLength < t.writableHighWaterMark;
      t.uncork();
    }
    if (!ok) this.blocked = true;
    else this.controlPending = 0;
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
    s.lastActivity = Date.now();
    return this.writer.data(s.id, chunk, endStream);
  }

  waitFor(s: H2ServerStream): void {
    this.waiting.add(s);
  }

  creditStream(s: H2ServerStream, n: number): void {
    if (s.remoteEnded || s.closed) return;
    s.uncredited += n;
    if (s.uncredited < this.streamWindow / 2) return;
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

  // --- both sides' frames ---

  /** Charges a DATA frame against our connection window, crediting it back in batches of half; false on overflow (the connection failed). */
  protected chargeReceived(wireLength: number): boolean {
    this.recvWindow -= wireLength;
    if (this.recvWindow < 0) {
      this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window exceeded');
      return false;
    }
    this.recvUncredited += wireLength;
    if (this.recvUncredited >= this.connectionWindow / 2) {
      this.writer.windowUpdate(0, this.recvUncredited);
      this.recvWindow += this.recvUncredited;
      this.recvUncredited = 0;
    }
    return true;
  }

  protected windowUpdate(id: number, inc: number): void {
    if (id === 0) {
      if (inc === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow');
      return this.wake();
    }
    const s = this.streams.get(id);
    if (!s) {
      if (this.isIdle(id)) this.fail(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
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
    this.stopReading();
    this.writer.goaway(this.lastPeerStream, code, reason);
    this.endTransport();
    for (const s of [...this.streams.values()]) s.close(code);
  }

  protected maybeEnd(): void {
    if (this.ending || this.gone || this.streams.size > 0) return;
    if (!this.finalGoawaySent && !this.peerGoaway) return;
    // Closing because the peer went away: our GOAWAY still says which streams were processed.
    if (!this.finalGoawaySent && !this.transport.destroyed) this.writer.goaway(this.lastPeerStream, ErrorCode.NO_ERROR);
    this.endTransport();
  }

  private endTransport(): void {
    this.ending = true;
    this.stopReading();
    this.writer.flush();
    this.writer.close();
    const t = this.transport;
    if (t.destroyed) return;
    t.end();
    const timer = setTimeout(() => t.destroy(), LINGER_MS);
    timer.unref();
    t.once('close', () => clearTimeout(timer));
  }

  protected refuse(id: number, code: ErrorCode): void {
    this.writer.rstStream(id, code);
    this.remember(id, true);
    this.checkUnsent();
  }

  protected remember(id: number, ours: boolean): void {
    if (this.recentClosed.size >= RECENT_CLOSED) this.recentClosed.delete(this.recentClosed.keys().next().value as number);
    this.recentClosed.set(id, ours);
  }

  /** Counts an answer queued; a peer that asks for answers (PING, SETTINGS, refusals) faster than it reads them is cut off. */
  protected checkUnsent(): void {
    if (++this.controlPending > MAX_PENDING_CONTROL) this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'peer does not read');
  }

  /** A window opened or the transport drained: streams waiting send again. */
  protected wake(): void {
    if (this.waiting.size === 0) return;
    const ws = [...this.waiting];
    this.waiting.clear();
    for (const s of ws) {
      s.pump();
      s.drained();
    }
  }
}
