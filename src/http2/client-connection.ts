/**
 * The client side of one HTTP/2 connection (prior knowledge) on any byte stream: an upstream
 * socket or an HBONE tunnel, with no JS stream socket between. It shares the server side's
 * {@link FrameReader}, {@link FrameWriter} (one write per turn), HPACK and
 * {@link ConnectionOutput} (send windows, backpressure, GOAWAY and the ends of the connection);
 * streams send through the same {@link H2ServerStream} machinery ({@link H2ClientStream}).
 *
 * What it does as a client (RFC 9113):
 * - sends the preface and SETTINGS (push disabled; our windows as the server side's), then
 *   streams with odd, increasing ids; the peer's SETTINGS_MAX_CONCURRENT_STREAMS is the owner's to
 *   honour ({@link ClientConnectionOwner.onPeerSettings});
 * - flow control both ways (§6.9), as the server side: windows credited in batches of half;
 * - response heads checked (§8.3.2, §8.2: `response-fields.ts`), 1xx skipped, content-length held
 *   against DATA, trailers checked; a malformed response is RST_STREAM(PROTOCOL_ERROR);
 * - frames for streams the server may not have (idle, even ids: push is off) are connection
 *   errors; frames on streams we reset are ignored;
 * - GOAWAY: the owner is told first (no new streams), then streams above its last-stream-id are
 *   closed as refused ({@link H2ClientStream.refusedByGoaway}): never processed, safe to retry.
 */
import type { Duplex } from 'node:stream';
import { H2ClientStream, type ClientStreamHandler } from './client-stream.js';
import { ConnectionOutput, headerBlockLimits } from './connection-output.js';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import { CLIENT_PREFACE, ErrorCode, Flag, MAX_STREAM_ID, SettingId } from './frame-types.js';
import { HpackDecoder } from './hpack/hpack-decoder.js';
import { applySettings } from './peer-settings.js';
import { trailerFields } from './request-fields.js';
import { responseFields } from './response-fields.js';

export interface ClientConnectionOptions {
  readonly streamWindow: number;
  readonly connectionWindow: number;
  /** Response head size (decoded) past which the connection fails: a hostile upstream. */
  readonly maxHeaderListSize: number;
}

export interface ClientConnectionOwner {
  /** The server's SETTINGS (each frame); `maxConcurrentStreams` undefined when it named none. */
  onPeerSettings(maxConcurrentStreams: number | undefined): void;
  /** A GOAWAY arrived: open no more streams. Called before the refused streams close. */
  onGoaway(lastStreamId: number, code: number): void;
  /** The transport closed; every stream has been told. */
  onConnectionClose(): void;
}

const MAX_EMPTY_FRAMES = 1000;

export class ClientConnection extends ConnectionOutput implements FrameHandler {
  private readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private nextId = 1;
  /** The server ended its side: streams still open failed with the connection. */
  private lost = false;
  private emptyFrames = 0;

  constructor(
    transport: Duplex,
    private readonly owner: ClientConnectionOwner,
    private readonly opts: ClientConnectionOptions,
  ) {
    super(transport, opts.streamWindow, opts.connectionWindow);
    const { maxBlock, hardListLimit } = headerBlockLimits(opts.maxHeaderListSize);
    this.reader = new FrameReader(this, maxBlock, false);
    this.decoder = new HpackDecoder({ hardListLimit });
    // The preface goes first, ahead of the writer's batch (flushed next turn).
    transport.write(CLIENT_PREFACE);
    const settings: [number, number][] = [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.INITIAL_WINDOW_SIZE, opts.streamWindow],
      [SettingId.MAX_HEADER_LIST_SIZE, opts.maxHeaderListSize],
    ];
    this.openConnection(settings, { data: this.onData, end: this.onEnd, close: this.onClose });
  }

  /** No more stream ids, or the connection is ending: open no more streams. */
  get exhausted(): boolean {
    return this.nextId > MAX_STREAM_ID || this.ending || this.gone || this.peerGoaway;
  }

  /** The connection failed or is closing: stream errors are connection failures. */
  get failed(): boolean {
    return this.ending || this.gone || this.lost;
  }

  /**
   * Opens a stream with the request head `fields` (pseudo-headers first, checked by the
   * caller); undefined when the connection takes no more streams.
   */
  request(fields: readonly string[], endStream: boolean, handler: ClientStreamHandler, headRequest: boolean): H2ClientStream | undefined {
    if (this.exhausted) return undefined;
    const id = this.nextId;
    this.nextId += 2;
    const s = new H2ClientStream(id, this, this.peerInitialWindow, this.opts.streamWindow, handler, headRequest);
    this.streams.set(id, s);
    s.respond(fields, endStream);
    return s;
  }

  protected stopReading(): void {
    this.reader.stop();
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id >= this.nextId;
  }

  // --- transport events ---

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
  };

  private readonly onEnd = (): void => {
    // The server sends nothing more: responses not complete never will be.
    this.peerGoaway = true;
    this.lost = true;
    this.reader.stop();
    for (const s of [...this.streams.values()]) s.close(undefined);
    this.maybeEnd();
  };

  private readonly onClose = (): void => {
    this.gone = true;
    this.reader.stop();
    this.writer.close();
    for (const s of [...this.streams.values()]) s.close(undefined);
    this.owner.onConnectionClose();
  };

  // --- FrameHandler ---


  onStreamFrameError(stream: number, code: ErrorCode): void {
    const s = this.streams.get(stream);
    if (s) s.reset(code);
    else this.refuse(stream, code);
  }

  onFrameError(code: ErrorCode, reason: string): void {
    this.fail(code, reason);
  }

  onHeaderBlock(id: number, flags: number, block: Buffer, badPriority: boolean): void {
    let fields: string[];
    try {
      ({ fields } = this.decoder.decode(block));
    } catch {
      return this.fail(ErrorCode.COMPRESSION_ERROR, 'header block not decodable');
    }
    const s = this.streams.get(id) as H2ClientStream | undefined;
    if (!s) return this.unknownStream(id, 'HEADERS', true);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (s.remoteEnded) return s.reset(ErrorCode.STREAM_CLOSED);
    if (badPriority) return s.refuse();
    if (s.responded) {
      const t = trailerFields(fields);
      if (!endStream || !t || (s.responseLength >= 0 && s.received !== s.responseLength)) return s.refuse();
      if (t.length > 0) s.handler?.onTrailers(t);
      if (!s.closed) this.remoteEnd(s);
      return;
    }
    const head = responseFields(fields);
    if (!head || head.status === 101) return s.refuse();
    if (head.status < 200) {
      // Interim responses are hop-level (Envoy drops them unless told to proxy 100-continue).
      if (endStream) s.refuse();
      return;
    }
    s.responded = true;
    const bodiless = s.headRequest || head.status === 204 || head.status === 304;
    s.responseLength = bodiless ? -1 : head.contentLength;
    if (endStream && s.responseLength > 0) return s.refuse();
    if (!s.client.onResponse(head.status, head.fields)) s.holding = true;
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  // --- frames ---

  protected data(flags: number, id: number, payload: Buffer, wireLength: number): void {
    if (!this.chargeReceived(wireLength)) return;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const n = payload.length;
    if (n === 0 && !endStream && ++this.emptyFrames > MAX_EMPTY_FRAMES) return this.fail(ErrorCode.ENHANCE_YOUR_CALM, 'empty DATA frames');
    const s = this.streams.get(id) as H2ClientStream | undefined;
    if (!s) return this.unknownStream(id, 'DATA', false);
    if (s.remoteEnded) return s.reset(ErrorCode.STREAM_CLOSED);
    if (!s.responded) return s.refuse();
    s.recvWindow -= wireLength;
    if (s.recvWindow < 0) return s.reset(ErrorCode.FLOW_CONTROL_ERROR);
    s.received += n;
    const len = s.responseLength;
    if (len >= 0 && (s.received > len || (endStream && s.received !== len))) return s.refuse();
    if (wireLength > n) this.creditStream(s, wireLength - n);
    if (n > 0) {
      // The handler always takes the chunk; false holds the window's credit until resume().
      const more = s.handler?.onData(payload) ?? true;
      if (s.closed) return;
      if (s.holding || !more) {
        s.holding = true;
        s.heldCredit += n;
      } else this.creditStream(s, n);
    }
    if (endStream && !s.closed) this.remoteEnd(s);
  }

  /** A frame for a stream we do not have: ignored if we reset it, else an error. */
  private unknownStream(id: number, what: string, headers: boolean): void {
    if (this.isIdle(id)) return this.fail(ErrorCode.PROTOCOL_ERROR, `${what} on an idle stream`);
    const ours = this.recentClosed.get(id);
    if (ours === true) return;
    if (headers) return this.fail(ErrorCode.STREAM_CLOSED, `${what} on a closed stream`);
    this.refuse(id, ErrorCode.STREAM_CLOSED);
  }

  private remoteEnd(s: H2ClientStream): void {
    s.remoteEnded = true;
    s.handler?.onEnd();
    if (s.localEnded && !s.closed) s.close(undefined);
  }

  protected rstReceived(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s) return s.close(code);
    if (this.isIdle(id)) this.fail(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
  }

  protected goawayReceived(last: number, code: number): void {
    this.peerGoaway = true;
    this.owner.onGoaway(last, code);
    for (const s of [...this.streams.values()]) {
      if (s.id <= last || s.closed) continue;
      (s as H2ClientStream).refusedByGoaway = true;
      s.close(ErrorCode.REFUSED_STREAM);
    }
    this.maybeEnd();
  }

  protected settings(payload: Buffer): void {
    let maxStreams: number | undefined;
    for (let i = 0; i + 6 <= payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SettingId.MAX_CONCURRENT_STREAMS) maxStreams = value;
      // A server may not offer push (RFC 9113 §6.5.2).
      else if (id === SettingId.ENABLE_PUSH && value !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH from a server');
    }
    const err = applySettings(payload, this);
    if (err !== undefined) return this.fail(err, 'bad SETTINGS');
    this.writer.settingsAck();
    this.checkUnsent();
    this.owner.onPeerSettings(maxStreams);
    this.wake();
  }
}

