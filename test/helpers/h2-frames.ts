/**
 * A raw HTTP/2 peer for abuse tests: writes arbitrary frames (no flow control, no limits, no
 * state machine) over a real mTLS socket and parses what the server sends back, so tests can do
 * what a well-behaved client library refuses to do (rapid reset, CONTINUATION floods, SETTINGS
 * and PING floods, window overflow, more streams than advertised).
 *
 * Header blocks use HPACK literals without indexing and without Huffman coding (RFC 7541 §6.2.2),
 * which every decoder must accept.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { clientTlsOptions } from '../../src/hbone/mtls.js';

export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00]), Buffer.from(hpackInt(n.length, 7, 0)), n, Buffer.from(hpackInt(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

export function connectHeaders(authority: string): Buffer {
  return headerBlock([
    [':method', 'CONNECT'],
    [':authority', authority],
  ]);
}

export function settingsPayload(entries: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(value, i * 6 + 2);
  });
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** A raw HTTP/2 client connection. */
export class RawH2 {
  readonly frames: Frame[] = [];
  private buf: Buffer = Buffer.alloc(0);
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(readonly socket: Duplex) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => ((this.isClosed = true), resolve())));
  }

  static async connect(host: string, port: number, source: TlsMaterial, rootsPem: readonly string[]): Promise<RawH2> {
    const tcp = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      tcp.once('connect', resolve);
      tcp.once('error', reject);
    });
    const socket = tls.connect(clientTlsOptions(tcp, source, rootsPem));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const c = new RawH2(socket);
    // The preface and an empty SETTINGS, as every client starts.
    c.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    return c;
  }

  /** A raw HTTP/2 client over any byte stream (e.g. an HBONE tunnel to the waypoint: inner HTTP/2). */
  static over(stream: Duplex): RawH2 {
    const c = new RawH2(stream);
    c.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
    return c;
  }

  /** The RST_STREAM error code the server sent on `stream`, if any. */
  resetCode(stream: number): number | undefined {
    const r = this.frames.find((f) => f.type === FRAME.RST_STREAM && f.stream === stream);
    return r ? r.payload.readUInt32BE(0) : undefined;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Writes; resolves false once the connection is gone (the server hung up on us). */
  write(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  send(type: number, flags: number, stream: number, payload?: Buffer): boolean {
    return this.write(frame(type, flags, stream, payload));
  }

  /** A GOAWAY from the server, if one arrived: its error code. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g ? g.payload.readUInt32BE(4) : undefined;
  }

  count(type: number): number {
    return this.frames.filter((f) => f.type === type).length;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      this.frames.push({ type: this.buf[3] as number, flags: this.buf[4] as number, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
      this.buf = this.buf.subarray(9 + len);
    }
  }
}
