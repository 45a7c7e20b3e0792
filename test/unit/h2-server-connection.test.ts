/**
 * The waypoint's own HTTP/2 server codec (src/http2/) against hostile and unusual peers: a raw
 * client on a loopback socket writes frames built from RFC 9113's layout (no client library to
 * clean them up) and reads what the server answers: GOAWAY with the RFC's error code for
 * connection errors, RST_STREAM for stream errors, the request served otherwise.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closeTcpServer, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import type { DownstreamExchange } from '../../src/waypoint/downstream-exchange.js';
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { H2CodecDownstream } from '../../src/waypoint/h2-codec-downstream.js';
import type { HttpConnection, HttpConnectionSource } from '../../src/waypoint/http-connection.js';
import { httpLimits } from '../../src/waypoint/http-limits.js';
import { eventually } from '../helpers/eventually.js';
import { FLAG, FRAME, frame, headerBlock, RawH2, settingsPayload, u32 } from '../helpers/h2-frames.js';

const CONN: HttpConnectionSource = { current: () => ({}) as HttpConnection };
const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 } as const;
const PADDED = 0x8;

const get = (path = '/', extra: ReadonlyArray<readonly [string, string]> = []): Buffer =>
  headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', 'svc:80'], ...extra]);
const post = (path = '/', extra: ReadonlyArray<readonly [string, string]> = []): Buffer =>
  headerBlock([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'svc:80'], ...extra]);

describe('own HTTP/2 server codec: hostile frames', () => {
  const served: DownstreamExchange[] = [];
  /** What the scripted exchange does with a request (default: 200 "ok", body read). */
  let behave: (x: DownstreamExchange) => void;
  const answer = (x: DownstreamExchange): void => {
    const go = (): void => void x.respond(200, ['content-type', 'text/plain'], 'ok');
    if (x.body) {
      x.body.resume();
      x.body.on('end', go);
      x.body.on('error', () => undefined);
    } else go();
  };
  let h2: H2CodecDownstream;
  let server: net.Server;
  let port = 0;
  const clients: RawH2[] = [];

  before(async () => {
    h2 = new H2CodecDownstream(httpLimits({ maxConcurrentStreams: 4, maxHeadersCount: 20 }), (_c, x) => {
      served.push(x);
      x.attach({ downstreamDrain: () => undefined, downstreamClosed: () => undefined, downstreamIdle: () => undefined });
      behave(x);
    });
    server = createTcpServer((socket) => h2.serve(socket, CONN));
    port = (await listenTcp(server, '127.0.0.1', 0)).port;
  });

  after(async () => {
    for (const c of clients) c.close();
    h2.destroyAll();
    await closeTcpServer(server, 200);
  });

  async function client(): Promise<RawH2> {
    behave = answer;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = RawH2.over(socket);
    clients.push(c);
    return c;
  }

  /** The connection error the server answered with (GOAWAY's code), once the connection closed. */
  async function goawayCode(c: RawH2): Promise<number | undefined> {
    await eventually(() => !c.isOpen, 5000);
    return c.goawayCode();
  }

  const status = (c: RawH2, stream: number): boolean => c.frames.some((f) => f.type === FRAME.HEADERS && f.stream === stream);

  /** The `:status` the server sent on `stream` (every header block decoded in order: HPACK state). */
  function statusCode(c: RawH2, stream: number): string | undefined {
    const d = new HpackDecoder();
    let found: string | undefined;
    for (const f of c.frames) {
      if (f.type !== FRAME.HEADERS) continue;
      const { fields } = d.decode(f.payload);
      if (f.stream === stream && found === undefined) found = fields[fields.indexOf(':status') + 1];
    }
    return found;
  }

  /** A header block sent as HEADERS + CONTINUATION frames of at most 16 KiB. */
  function sendBlock(c: RawH2, stream: number, block: Buffer, endStream: boolean): void {
    const max = 16_384;
    for (let at = 0; at < block.length; at += max) {
      const last = at + max >= block.length;
      const flags = (last ? FLAG.END_HEADERS : 0) | (at === 0 && endStream ? FLAG.END_STREAM : 0);
      c.send(at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION, flags, stream, block.subarray(at, at + max));
    }
  }

  /** The connection still serves a request on `stream`. */
  async function stillServes(c: RawH2, stream: number): Promise<void> {
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, get('/after'));
    await eventually(() => status(c, stream));
  }

  it('serves a request after the SETTINGS exchange, acking the client SETTINGS and PING', async () => {
    const c = await client();
    c.send(FRAME.PING, 0, 0, Buffer.from('12345678'));
    await stillServes(c, 1);
    assert.ok(c.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0), 'server SETTINGS');
    assert.ok(c.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === FLAG.ACK), 'SETTINGS ACK');
    const pong = c.frames.find((f) => f.type === FRAME.PING);
    assert.equal(pong?.flags, FLAG.ACK);
    assert.equal(pong?.payload.toString(), '12345678');
  });

  const connectionErrors: ReadonlyArray<readonly [string, number, (c: RawH2) => void]> = [
    ['a frame over SETTINGS_MAX_FRAME_SIZE', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.DATA, 0, 1, Buffer.alloc(16_385))],
    ['a PING of 7 octets', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.PING, 0, 0, Buffer.alloc(7))],
    ['a WINDOW_UPDATE of 3 octets', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))],
    ['a SETTINGS ACK with a payload', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.SETTINGS, FLAG.ACK, 0, settingsPayload([[3, 1]]))],
    ['a SETTINGS of 5 octets', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.SETTINGS, 0, 0, Buffer.alloc(5))],
    ['an RST_STREAM of 5 octets', E.FRAME_SIZE_ERROR, (c) => c.send(FRAME.RST_STREAM, 0, 1, Buffer.alloc(5))],
    ['DATA on stream 0', E.PROTOCOL_ERROR, (c) => c.send(FRAME.DATA, 0, 0, Buffer.from('x'))],
    ['HEADERS on stream 0', E.PROTOCOL_ERROR, (c) => c.send(FRAME.HEADERS, FLAG.END_HEADERS, 0, get())],
    ['RST_STREAM on stream 0', E.PROTOCOL_ERROR, (c) => c.send(FRAME.RST_STREAM, 0, 0, u32(8))],
    ['SETTINGS on a stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.SETTINGS, 0, 1, Buffer.alloc(0))],
    ['PING on a stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.PING, 0, 1, Buffer.alloc(8))],
    ['GOAWAY on a stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.GOAWAY, 0, 1, Buffer.alloc(8))],
    ['PUSH_PROMISE from a client', E.PROTOCOL_ERROR, (c) => c.send(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, 1, Buffer.alloc(4))],
    ['DATA on an idle stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.DATA, 0, 1, Buffer.from('x'))],
    ['RST_STREAM on an idle stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.RST_STREAM, 0, 5, u32(8))],
    ['WINDOW_UPDATE on an idle stream', E.PROTOCOL_ERROR, (c) => c.send(FRAME.WINDOW_UPDATE, 0, 7, u32(1))],
    ['an even stream id', E.PROTOCOL_ERROR, (c) => c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 2, get())],
    ['padding as long as the payload', E.PROTOCOL_ERROR, (c) => c.send(FRAME.HEADERS, FLAG.END_HEADERS | PADDED, 1, Buffer.from([4, 0, 0, 0]))],
    ['CONTINUATION without HEADERS', E.PROTOCOL_ERROR, (c) => c.send(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, get())],
    ['a PING inside a header block', E.PROTOCOL_ERROR, (c) => (c.send(FRAME.HEADERS, 0, 1, get()), c.send(FRAME.PING, 0, 0, Buffer.alloc(8)))],
    ['a CONTINUATION of another stream', E.PROTOCOL_ERROR, (c) => (c.send(FRAME.HEADERS, 0, 1, get()), c.send(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, Buffer.alloc(0)))],
    ['SETTINGS_ENABLE_PUSH 2', E.PROTOCOL_ERROR, (c) => c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[2, 2]]))],
    ['SETTINGS_MAX_FRAME_SIZE below 16384', E.PROTOCOL_ERROR, (c) => c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[5, 16_383]]))],
    ['SETTINGS_INITIAL_WINDOW_SIZE 2^31', E.FLOW_CONTROL_ERROR, (c) => c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[4, 2 ** 31]]))],
    ['a connection window past 2^31-1', E.FLOW_CONTROL_ERROR, (c) => (c.send(FRAME.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)), c.send(FRAME.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)))],
    ['a WINDOW_UPDATE of 0 on the connection', E.PROTOCOL_ERROR, (c) => c.send(FRAME.WINDOW_UPDATE, 0, 0, u32(0))],
    ['an undecodable header block', E.COMPRESSION_ERROR, (c) => c.send(FRAME.HEADERS, FLAG.END_HEADERS, 1, Buffer.from([0x80]))],
  ];

  for (const [what, code, send] of connectionErrors) {
    it(`${what}: GOAWAY ${code} and close`, async () => {
      const c = await client();
      send(c);
      assert.equal(await goawayCode(c), code);
    });
  }

  it('a bad preface is refused', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => socket.once('close', r));
    const all = Buffer.concat(got);
    const goaway = frame(FRAME.GOAWAY, 0, 0).subarray(3, 4);
    assert.ok(all.includes(goaway), 'a GOAWAY frame was sent');
  });

  it('HEADERS on a stream closed by END_STREAM both ways: STREAM_CLOSED', async () => {
    const c = await client();
    await stillServes(c, 1);
    await eventually(() => c.frames.some((f) => f.stream === 1 && f.flags & FLAG.END_STREAM));
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, get());
    assert.equal(await goawayCode(c), E.STREAM_CLOSED);
  });

  it('HEADERS with a lower stream id than one already used: PROTOCOL_ERROR', async () => {
    const c = await client();
    await stillServes(c, 5);
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, get());
    assert.equal(await goawayCode(c), E.PROTOCOL_ERROR);
  });

  it('unknown frame types, PRIORITY and unknown SETTINGS are ignored', async () => {
    const c = await client();
    c.send(0xfa, 0xff, 0, Buffer.from('whatever'));
    c.send(0xfb, 0, 1, Buffer.alloc(100));
    c.send(FRAME.PRIORITY, 0, 9, Buffer.from([0, 0, 0, 1, 16]));
    c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[0x99, 7]]));
    await stillServes(c, 1);
    assert.equal(c.goawayCode(), undefined);
  });

  it('stream errors: DATA after END_STREAM, a closed stream, a stream window overflow, WINDOW_UPDATE 0', async () => {
    const c = await client();
    behave = () => undefined; // never answered, never read
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, get('/half-closed'));
    c.send(FRAME.DATA, 0, 1, Buffer.from('late'));
    await eventually(() => c.resetCode(1) === E.STREAM_CLOSED);
    // A stream whose body is never read: past its 1 MiB window, FLOW_CONTROL_ERROR.
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, 3, post('/unread'));
    const piece = Buffer.alloc(16_384);
    for (let i = 0; i < 65; i++) c.send(FRAME.DATA, 0, 3, piece);
    await eventually(() => c.resetCode(3) === E.FLOW_CONTROL_ERROR);
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, 5, post('/zero'));
    c.send(FRAME.WINDOW_UPDATE, 0, 5, u32(0));
    await eventually(() => c.resetCode(5) === E.PROTOCOL_ERROR);
    behave = answer;
    // DATA on a stream the client reset: STREAM_CLOSED, the connection lives on.
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, 7, post('/cancelled'));
    c.send(FRAME.RST_STREAM, 0, 7, u32(8));
    c.send(FRAME.DATA, 0, 7, Buffer.from('x'));
    await eventually(() => c.resetCode(7) === E.STREAM_CLOSED);
    await stillServes(c, 9);
    assert.equal(c.goawayCode(), undefined);
  });

  it('malformed requests (RFC 9113 §8.2, §8.3) are reset with PROTOCOL_ERROR, never served', async () => {
    const c = await client();
    const servedBefore = served.length;
    const bad: ReadonlyArray<Buffer> = [
      get('/', [['X-Upper', 'v']]),
      get('/', [['connection', 'keep-alive']]),
      get('/', [['transfer-encoding', 'chunked']]),
      get('/', [['te', 'gzip']]),
      get('/', [['upgrade', 'h2c']]),
      headerBlock([[':method', 'GET'], [':scheme', 'http'], ['x-a', 'b'], [':path', '/late-pseudo']]),
      headerBlock([[':method', 'GET'], [':scheme', 'http'], [':authority', 'a']]),
      headerBlock([[':method', 'GET'], [':method', 'GET'], [':scheme', 'http'], [':path', '/']]),
      headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':protocol', 'websocket']]),
      headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '']]),
      headerBlock([[':method', 'CONNECT'], [':scheme', 'http'], [':path', '/'], [':authority', 'a:1']]),
      headerBlock([[':status', '200'], [':method', 'GET'], [':scheme', 'http'], [':path', '/']]),
      get('/', [['x-a', 'tab\tin the middle is fine but not at the end\t']]),
      get('/', [['content-length', '1x']]),
      get('/', [['content-length', '5']]),
    ];
    let id = 1;
    const ids: number[] = [];
    for (const b of bad) {
      c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, b);
      ids.push(id);
      id += 2;
    }
    // Trailers with a pseudo-header; a body longer and one shorter than content-length.
    const trailersId = id;
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, trailersId, post('/t'));
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, trailersId, headerBlock([[':path', '/x']]));
    const longer = (id += 2);
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, longer, post('/l', [['content-length', '3']]));
    c.send(FRAME.DATA, FLAG.END_STREAM, longer, Buffer.from('four'));
    const shorter = (id += 2);
    c.send(FRAME.HEADERS, FLAG.END_HEADERS, shorter, post('/s', [['content-length', '5']]));
    c.send(FRAME.DATA, FLAG.END_STREAM, shorter, Buffer.from('four'));
    const all = [...ids, trailersId, longer, shorter];
    await eventually(() => all.every((s) => c.resetCode(s) !== undefined), 5000);
    for (const s of all) {
      assert.equal(c.resetCode(s), E.PROTOCOL_ERROR, `stream ${s}`);
      assert.equal(status(c, s), false, `stream ${s} not answered`);
    }
    await stillServes(c, id + 2);
    // Heads of the last three were fine (they started, then were reset); no other request started.
    assert.deepEqual(served.slice(servedBefore).map((x) => x.target), ['/t', '/l', '/s', '/after']);
    assert.deepEqual(served.slice(servedBefore, -1).map((x) => x.complete), [false, false, false]);
  });

  it('too many fields or too large a list: 431; a good request on the same connection is served', async () => {
    const c = await client();
    const many = Array.from({ length: 30 }, (_, i) => [`x-f${i}`, 'v'] as const);
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, get('/many', many));
    // Over the 60 KiB list limit, in four frames.
    sendBlock(c, 3, get('/big', [['x-big', 'a'.repeat(62 * 1024)]]), true);
    await eventually(() => status(c, 1) && status(c, 3));
    assert.equal(statusCode(c, 1), '431');
    assert.equal(statusCode(c, 3), '431');
    assert.equal(served.some((x) => x.target === '/many' || x.target === '/big'), false);
    await stillServes(c, 5);
    assert.equal(statusCode(c, 5), '200');
  });

  it('more streams than SETTINGS_MAX_CONCURRENT_STREAMS: REFUSED_STREAM', async () => {
    const c = await client();
    behave = () => undefined;
    for (let i = 0; i < 6; i++) c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1 + 2 * i, get(`/c${i}`));
    await eventually(() => c.resetCode(9) === E.REFUSED_STREAM && c.resetCode(11) === E.REFUSED_STREAM);
    for (const s of [1, 3, 5, 7]) assert.equal(c.resetCode(s), undefined);
  });

  it('rapid reset (HEADERS + RST_STREAM, thousands) is cut off with ENHANCE_YOUR_CALM', async () => {
    const c = await client();
    behave = () => undefined;
    for (let i = 0; i < 3000 && c.isOpen; i++) {
      const id = 1 + 2 * i;
      c.send(FRAME.HEADERS, FLAG.END_HEADERS, id, get('/rr'));
      c.send(FRAME.RST_STREAM, 0, id, u32(8));
    }
    assert.equal(await goawayCode(c), E.ENHANCE_YOUR_CALM);
  });

  it('a CONTINUATION flood is cut off with ENHANCE_YOUR_CALM', async () => {
    const c = await client();
    c.send(FRAME.HEADERS, 0, 1, get('/flood'));
    const filler = headerBlock([['x-flood', 'a'.repeat(16)]]);
    for (let i = 0; i < 10_000 && c.isOpen; i++) c.send(FRAME.CONTINUATION, 0, 1, filler);
    assert.equal(await goawayCode(c), E.ENHANCE_YOUR_CALM);
  });

  it('a PING flood from a peer that never reads is cut off with ENHANCE_YOUR_CALM', async () => {
    const c = await client();
    c.socket.pause();
    const ping = frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    const batch = Buffer.concat(Array.from({ length: 2000 }, () => ping));
    for (let i = 0; i < 150 && c.isOpen; i++) {
      c.write(batch);
      await new Promise((r) => setImmediate(r));
    }
    c.socket.resume();
    assert.equal(await goawayCode(c), E.ENHANCE_YOUR_CALM);
  });

  it("sends within the peer's windows and frame size, resuming on WINDOW_UPDATE and a larger initial window", async () => {
    const c = await client();
    c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[4, 10]]));
    behave = (x) => {
      x.writeHead(200, []);
      x.write(Buffer.from('a'.repeat(25)));
      x.end();
    };
    c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, get('/windowed'));
    const data = (): Buffer[] => c.frames.filter((f) => f.type === FRAME.DATA && f.stream === 1).map((f) => f.payload);
    await eventually(() => data().length === 1);
    assert.equal(data()[0]?.length, 10);
    c.send(FRAME.WINDOW_UPDATE, 0, 1, u32(5));
    await eventually(() => data().length === 2);
    assert.equal(data()[1]?.length, 5);
    // Raising SETTINGS_INITIAL_WINDOW_SIZE opens every stream's window by the difference.
    c.send(FRAME.SETTINGS, 0, 0, settingsPayload([[4, 100]]));
    await eventually(() => c.frames.some((f) => f.type === FRAME.DATA && f.stream === 1 && f.flags & FLAG.END_STREAM));
    assert.equal(Buffer.concat(data()).toString(), 'a'.repeat(25));
  });
});
