/**
 * Switches a plain TCP socket from Node's default read path (a fresh 64 KiB ArrayBuffer per read,
 * delivered as a 'data' event) to reads into reused buffers (`read-buffer-pool.ts`), delivered to
 * one consumer callback: the splice that owns the socket.
 *
 * Node's public way is `net.connect({ onread: { buffer, callback } })`, which only sockets we
 * create can use, and only from their creation on. A splice gets accepted sockets too (outbound
 * capture, SOCKS5, plaintext inbound), after a handshake or a sniffer has read from them. So the
 * switch is done on a live socket with the same three fields `onread` sets (found by identity on a
 * probe socket made with the public option, not by name) and the handle's `useUserBuffer`, which
 * is what `onread` calls. Where any of that is missing (another Node), {@link readIntoPool}
 * returns `undefined` and the caller keeps using 'data' events.
 *
 * From the switch on, `pause()`/`resume()` stop and start the handle's reads (Node does this for
 * `onread` sockets), end of data still emits 'end' and a read error still destroys the socket.
 */
const net = process.getBuiltinModule('node:net');
declare namespace net { export type Socket = import('node:net').Socket; }
import type { Duplex } from 'node:stream';
import { giveBackReadBuffer, sharedReadBuffer, takeReadBuffer } from './read-buffer-pool.js';

/**
 * Receives one read. `pooled` is set when `chunk` lives in a pooled buffer that the consumer now
 * owns: it must hand it to {@link giveBackReadBuffer} once nothing reads `chunk` any more (or
 * drop it for the GC). Returning `false` stops reading until the socket is resumed.
 */
export type PooledChunkSink = (chunk: Buffer, pooled: Buffer | undefined) => boolean;

/** Reads below this are copied out (into Node's 8 KiB allocation slab, no ArrayBuffer of their own). */
const COPY_BELOW_BYTES = 4096;

/** A read at least this large means bulk: the socket reads into pooled buffers from then on. */
const BULK_READ_BYTES = 16 * 1024;

interface OnreadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

type SocketInternals = net.Socket & Record<symbol, unknown> & { _handle?: { useUserBuffer?: (b: Uint8Array) => void } | null };

let fields: OnreadFields | null | undefined;

/** Node's own fields for `onread`, located on a probe socket by the values it was given. */
function onreadFields(): OnreadFields | null {
  if (fields !== undefined) return fields;
  const buffer = new Uint8Array(1);
  const callback = (): boolean => true;
  const probe = new net.Socket({ onread: { buffer, callback } }) as SocketInternals;
  let b: symbol | undefined;
  let c: symbol | undefined;
  let g: symbol | undefined;
  for (const s of Object.getOwnPropertySymbols(probe)) {
    const v = probe[s];
    if (v === buffer) b = s;
    else if (v === callback) c = s;
    else if (v === null && s.description === 'kBufferGen') g = s;
  }
  probe.destroy();
  fields = b && c && g ? { buffer: b, callback: c, generator: g } : null;
  return fields;
}

/** The reader of one socket: which buffer its handle reads into, and where reads go. */
export class PooledReader {
  /** The buffer the socket's handle reads into now: the shared one, or a pooled one it owns. */
  private current: Buffer;
  private next: Buffer;

  constructor(private readonly sink: PooledChunkSink) {
    this.current = sharedReadBuffer();
    this.next = this.current;
  }

  /** Node's `onread.callback`: `n` bytes are in `buf` (always `this.current`). */
  readonly onRead = (n: number, buf: Buffer): boolean => {
    const shared = sharedReadBuffer();
    if (n < COPY_BELOW_BYTES) {
      // Interactive traffic: copy out and read the next message into the shared buffer.
      const copy = Buffer.from(buf.subarray(0, n));
      if (buf !== shared) {
        this.next = shared;
        giveBackReadBuffer(buf);
      }
      return this.sink(copy, undefined);
    }
    if (buf === shared) {
      // The shared buffer must be free again when this returns: move the bytes to a pooled one.
      const own = takeReadBuffer();
      buf.copy(own, 0, 0, n);
      if (n >= BULK_READ_BYTES) this.next = takeReadBuffer();
      return this.sink(own.subarray(0, n), own);
    }
    // Bulk: the buffer read into goes to the consumer as is; the next read gets another.
    this.next = n >= BULK_READ_BYTES ? takeReadBuffer() : shared;
    return this.sink(buf.subarray(0, n), buf);
  };

  /** Node's `onread.buffer` as a function: called after each read for the next read's target. */
  readonly nextBuffer = (): Buffer => {
    this.current = this.next;
    return this.current;
  };

  /** After the socket's handle is closed (its 'close' event): its own buffer goes back. */
  dispose(): void {
    if (this.current !== sharedReadBuffer()) giveBackReadBuffer(this.current);
    this.current = this.next = sharedReadBuffer();
  }
}

/**
 * Moves `socket`'s reads to reused buffers delivered to `sink`, first handing it whatever the
 * socket has already buffered (bytes a sniffer put back). `undefined` when the socket is not a
 * plain TCP socket or this Node lacks the fields: the caller reads 'data' events as before.
 */
export function readIntoPool(socket: net.Socket, sink: PooledChunkSink): PooledReader | undefined {
  const f = onreadFields();
  const s = socket as SocketInternals;
  if (!f || (socket as { encrypted?: boolean }).encrypted || socket.destroyed || socket.connecting) return undefined;
  const handle = s._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || s[f.buffer] !== null) return undefined;
  let more = true;
  for (let c = socket.read() as Buffer | null; c !== null; c = socket.read() as Buffer | null) more = sink(c, undefined) && more;
  const reader = new PooledReader(sink);
  s[f.callback] = reader.onRead;
  s[f.generator] = reader.nextBuffer;
  s[f.buffer] = reader.nextBuffer();
  handle.useUserBuffer(s[f.buffer] as Buffer);
  if (more) socket.resume();
  else socket.pause();
  return reader;
}

/**
 * Whether `dest.write(chunk, cb)` calling `cb` without an error, while `dest` is not destroyed,
 * means nothing reads `chunk` any more, so a pooled buffer can be reused then. True for Node's TCP
 * sockets (the callback follows libuv's write completion) and node:http2 streams (it follows the
 * session's write of the DATA frames; their teardown settles a write in flight early, but only
 * once the stream is destroyed). Any other Duplex may call back once it has only queued the
 * chunk, so its pooled buffers are left to the GC instead.
 */
export function recyclesAfterWrite(dest: Duplex): boolean {
  if (dest instanceof net.Socket) return !(dest as { encrypted?: boolean }).encrypted;
  const name = dest.constructor.name;
  return name === 'ServerHttp2Stream' || name === 'ClientHttp2Stream';
}

/** Whether `socket` reads into pooled buffers now (for tests). */
export function readsIntoPool(socket: net.Socket): boolean {
  const f = onreadFields();
  return !!f && typeof (socket as SocketInternals)[f.callback] === 'function';
}
