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
import { ErrorCode, Flag, SettingId } from './frame-types.js';
import { ConnectionOutput, headerBlockLimits } from './connection-output.js';
import { HpackDecoder } from './hpack/hpack-decoder.js';
import { HpackError } from './hpack/hpack-error.js';
import { applySettings } from './peer-settings.js';
import { requestFields, trailerFields, type RequestFields } from './request-fields.js';
import { ResetBudget } from './reset-budget.js';
import { H2ServerStream } from './server-stream.js';

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

/** Empty DATA frames without END_STREAM a connection may send (CVE-2019-9518). */
const MAX_EMPTY_FRAMES = 1000;
const TOO_LARGE_BODY = Buffer.from('Request Header Fields Too Large', 'latin1');

export class ServerConnection extends ConnectionOutput implements FrameHandler {
  private readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private readonly resets = new ResetBudget();
  private emptyFrames = 0;
  /** The last byte read (the idle clock reads it). */
  lastActivity = Date.now();

  constructor(
    transport: Duplex,
    private readonly owner: ServerConnectionOwner,
    private readonly opts: ServerConnectionOptions,
  ) {
    super(transport, opts.streamWindow, opts.connectionWindow);
    // Fail closed on abuse: a block past these bounds is never a sane request.
    const { maxBlock, hardListLimit } = headerBlockLimits(opts.maxHeaderListSize);
    this.reader = new FrameReader(this, maxBlock);
    this.decoder = new HpackDecoder({ hardListLimit });
    const settings: [number, number][] = [
      [SettingId.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, opts.streamWindow],
      [SettingId.MAX_HEADER_LIST_SIZE, opts.maxHeaderListSize],
    ];
    this.openConnection(settings, { data: this.onData, end: this.onEnd, close: this.onClose });
  }

  protected stopReading(): void {
    this.reader.stop();
  }

  protected isIdle(id: number): boolean {
    return id > this.lastPeerStream;
  }

  // --- transport events ---

  private readonly onData = (chunk: Buffer): void => {
    this.lastActivity = Date.now();
    this.reader.push(chunk);
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

  // --- FrameHandler ---

  protected goawayReceived(): void {
    this.peerGoaway = true;
    this.maybeEnd();
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

  protected data(flags: number, id: number, payload: Buffer, wireLength: number): void {
    if (!this.chargeReceived(wireLength)) return;
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

  protected rstReceived(id: number, code: number): void {
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

  protected settings(payload: Buffer): void {
    const err = applySettings(payload, this);
    if (err !== undefined) return this.fail(err, 'bad SETTINGS');
    this.writer.settingsAck();
    this.checkUnsent();
    this.wake();
  }
}

