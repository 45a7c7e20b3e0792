/**
 * HPACK against a real peer, Node's nghttp2, over loopback sockets:
 * - a `node:http2` client sends varied requests (dynamic table reuse, Huffman, credentials,
 *   split cookies, a block big enough for CONTINUATION, a table size we lower mid-connection) to
 *   a raw `net` server that reads just enough HTTP/2 framing to join HEADERS + CONTINUATION
 *   payloads and hand them to our decoder; the fields must be what the client sent;
 * - a raw `net` client writes the preface, SETTINGS and HEADERS frames carrying our encoder's
 *   blocks to a `node:http2` server (default table, and servers that lower it to 256 and 0, which
 *   nghttp2 enforces with a size update at the start of the next block); the server's raw
 *   headers must be what we encoded.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackEncoder } from '../../src/http2/hpack/hpack-encoder.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0;
const HEADERS = 1;
const SETTINGS = 4;
const GOAWAY = 7;
const CONTINUATION = 9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 1;

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

function settings(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(SETTINGS, 0, 0, p);
}

/** Splits a byte stream into frames (after `skip` bytes of preface). */
class FrameReader {
  private buf = Buffer.alloc(0);
  constructor(private skip: number) {}
  push(chunk: Buffer): Frame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.skip > 0) {
      if (this.buf.length < this.skip) return [];
      assert.deepEqual(this.buf.subarray(0, this.skip), PREFACE);
      this.buf = this.buf.subarray(this.skip);
      this.skip = 0;
    }
    const out: Frame[] = [];
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      out.push({ type: this.buf[3] as number, flags: this.buf[4] as number, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
      this.buf = this.buf.subarray(9 + len);
    }
    return out;
  }
}

/** The header block fragment of a HEADERS frame: without padding and priority. */
function headersFragment(f: Frame): Buffer {
  let start = 0;
  let end = f.payload.length;
  if (f.flags & PADDED) {
    end -= f.payload[0] as number;
    start = 1;
  }
  if (f.flags & PRIORITY) start += 5;
  return f.payload.subarray(start, end);
}

/** Closes whatever a test opened, even when it fails. */
const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

function listen(server: net.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

describe('HPACK with nghttp2 (node:http2) as the peer', () => {
  it('decodes the header blocks a node:http2 client sends', async () => {
    const blocks: Array<{ fields: string[]; tableMax: number }> = [];
    let waiter: (() => void) | undefined;
    let acked: (() => void) | undefined;
    let acks = 0;
    let conn: net.Socket | undefined;
    const decoder = new HpackDecoder({ maxTableSize: 4096 });
    const server = net.createServer((sock) => {
      conn = sock;
      sock.write(settings([]));
      const reader = new FrameReader(PREFACE.length);
      let pending: Buffer[] = [];
      sock.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          if (f.type === SETTINGS) {
            if ((f.flags & ACK) === 0) sock.write(frame(SETTINGS, ACK, 0));
            else if (++acks === 2) acked?.(); // the second ACK is for the lowered table size
          } else if (f.type === HEADERS || f.type === CONTINUATION) {
            pending.push(f.type === HEADERS ? headersFragment(f) : f.payload);
            if (f.flags & END_HEADERS) {
              const r = decoder.decode(Buffer.concat(pending));
              pending = [];
              blocks.push({ fields: r.fields, tableMax: decoder.dynamicTableMaxSize });
              waiter?.();
            }
          }
        }
      });
      sock.on('error', () => {});
    });
    cleanups.push(() => server.close());
    const port = await listen(server);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => {});
    cleanups.push(() => client.destroy());

    const send = async (headers: http2.OutgoingHttpHeaders): Promise<string[]> => {
      const n = blocks.length;
      const arrived = new Promise<void>((resolve) => (waiter = resolve));
      const req = client.request(headers, { endStream: true });
      req.on('error', () => {});
      await arrived;
      assert.equal(blocks.length, n + 1);
      return (blocks[n] as { fields: string[] }).fields;
    };
    const authority = `127.0.0.1:${port}`;
    const expect = (path: string, extra: ReadonlyArray<readonly [string, string]>): string[] => [':method', 'GET', ':authority', authority, ':scheme', 'http', ':path', path, ...extra.flat()];
    const sorted = (fields: string[]): string[] => {
      const pairs: string[] = [];
      for (let i = 0; i < fields.length; i += 2) pairs.push(`${fields[i] as string}\0${fields[i + 1] as string}`);
      return pairs.sort();
    };
    const bigValue = Array.from({ length: 20000 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789-_'[(i * 7919) % 38]).join('');
    const cases: Array<[string, Array<[string, string]>]> = [
      ['/', [['user-agent', 'h2load nghttp2/1.64'], ['accept', '*/*']]],
      ['/', [['user-agent', 'h2load nghttp2/1.64'], ['accept', '*/*']]],
      ['/reviews/1?x=%20y', [['x-request-id', '6f1c9a52-8d3e-4c1b-9a7e-2b5d4f3c1a09'], ['authorization', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln']]],
      ['/cookies', [['cookie', 'a=1'], ['cookie', 'session=0123456789abcdef0123456789'], ['accept-encoding', 'gzip, deflate']]],
      ['/big', [['x-big', bigValue], ['x-after', 'after the big one']]],
      ['/', [['user-agent', 'h2load nghttp2/1.64'], ['accept', '*/*'], ['x-odd', '~`!@#$%^&*()[]{}|\\;:\'",<>?é'.slice(0, 30)]]],
    ];
    for (const [path, extra] of cases) {
      const headers: http2.OutgoingHttpHeaders = { ':path': path };
      for (const [k, v] of extra) {
        const prev = headers[k];
        headers[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [String(prev)]), v];
      }
      assert.deepEqual(sorted(await send(headers)), sorted(expect(path, extra)), path);
    }
    // Lower our SETTINGS_HEADER_TABLE_SIZE: after the ACK, nghttp2 opens its next block with a
    // size update of at most 256 (the decoder would refuse a larger one only above its 4096).
    const ackArrived = new Promise<void>((resolve) => (acked = resolve));
    assert.equal(acks, 1, 'the client acknowledged our first SETTINGS');
    conn?.write(settings([[SETTINGS_HEADER_TABLE_SIZE, 256]]));
    await ackArrived;
    for (let i = 0; i < 5; i++) {
      const extra: Array<[string, string]> = [['user-agent', 'h2load nghttp2/1.64'], ['x-n', String(i).repeat(40)]];
      assert.deepEqual(sorted(await send({ ':path': `/after/${i}`, 'user-agent': 'h2load nghttp2/1.64', 'x-n': String(i).repeat(40) })), sorted(expect(`/after/${i}`, extra)));
    }
    assert.ok((blocks[blocks.length - 1] as { tableMax: number }).tableMax <= 256, 'nghttp2 sent a size update');
    assert.ok(decoder.dynamicTableSize <= 256);
    client.destroy();
  });

  for (const tableSize of [4096, 256, 0]) {
    it(`a node:http2 server (headerTableSize ${tableSize}) decodes our encoder's blocks`, async () => {
      const received: string[][] = [];
      let waiter: (() => void) | undefined;
      const server = http2.createServer({ settings: { headerTableSize: tableSize } });
      server.on('stream', (stream, _headers, _flags, rawHeaders: string[]) => {
        received.push(rawHeaders);
        stream.respond({ ':status': 200 }, { endStream: true });
        waiter?.();
      });
      server.on('sessionError', () => {});
      cleanups.push(() => server.close());
      const port = await listen(server);
      const sock = net.connect(port, '127.0.0.1');
      cleanups.push(() => sock.destroy());
      const encoder = new HpackEncoder();
      const reader = new FrameReader(0);
      let goaway: Frame | undefined;
      const ready = new Promise<void>((resolve, reject) => {
        sock.on('error', reject);
        sock.on('data', (chunk: Buffer) => {
          for (const f of reader.push(chunk)) {
            if (f.type === SETTINGS && (f.flags & ACK) === 0) {
              for (let i = 0; i + 6 <= f.payload.length; i += 6) {
                if (f.payload.readUInt16BE(i) === SETTINGS_HEADER_TABLE_SIZE) encoder.setPeerMaxTableSize(f.payload.readUInt32BE(i + 2));
              }
              sock.write(frame(SETTINGS, ACK, 0));
              resolve();
            } else if (f.type === GOAWAY) {
              goaway = f;
              waiter?.();
            } else assert.ok(f.type <= 9 || f.type === DATA);
          }
        });
      });
      // A peer that closes instead of answering must fail the test, not hang it.
      sock.on('close', () => waiter?.());
      sock.write(Buffer.concat([PREFACE, settings([])]));
      await ready;

      const authority = '127.0.0.1:8080';
      const requests: string[][] = [];
      for (let i = 0; i < 12; i++) {
        const fields = [':method', i % 3 === 2 ? 'POST' : 'GET', ':scheme', 'http', ':authority', authority, ':path', i % 2 ? `/items/${i}` : '/', 'user-agent', 'h2load nghttp2/1.64', 'accept', '*/*'];
        if (i % 4 === 1) fields.push('authorization', `Bearer token-${i}`, 'cookie', 'a=1', 'cookie', `session=${'s'.repeat(30)}`);
        if (i % 5 === 3) fields.push('x-long', 'v'.repeat(1000 + i), 'x-obs-text', 'caf\xe9\tok \xff');
        if (i === 7) fields.push('x-big', 'z'.repeat(15000));
        fields.push('x-seq', String(i));
        requests.push(fields);
      }
      for (const [i, fields] of requests.entries()) {
        const block = encoder.encode(fields);
        const arrived = new Promise<void>((resolve) => (waiter = resolve));
        const stream = 2 * i + 1;
        // Split into HEADERS + CONTINUATION at the default SETTINGS_MAX_FRAME_SIZE.
        const parts: Buffer[] = [];
        for (let at = 0; at < block.length || at === 0; at += 16384) {
          const chunk = block.subarray(at, at + 16384);
          const last = at + 16384 >= block.length;
          parts.push(frame(at === 0 ? HEADERS : CONTINUATION, (at === 0 ? END_STREAM : 0) | (last ? END_HEADERS : 0), stream, chunk));
        }
        sock.write(Buffer.concat(parts));
        await arrived;
        assert.equal(goaway, undefined, `GOAWAY after request ${i}`);
        assert.deepEqual(received[i], fields, `request ${i}`);
      }
      sock.destroy();
      server.close();
    });
  }
});
