/**
 * The inner HTTP/2 server as the exchange sees it, for both codecs a waypoint can run: its own
 * (src/http2/, the default) and Node's session/stream API (src/waypoint/h2-downstream.ts, with
 * `AMBIENT_H2_CODEC=nghttp2`). A real HTTP/2 client on one side of a loopback socket, a scripted
 * exchange on the other speaking only the DownstreamExchange interface.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { closeTcpServer, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import type { DownstreamExchange } from '../../src/waypoint/downstream-exchange.js';
import { FINAL_GOAWAY_DELAY_MS, H2Downstream } from '../../src/waypoint/h2-downstream.js';
import { H2CodecDownstream } from '../../src/waypoint/h2-codec-downstream.js';
import { createH2Downstream, h2CodecFromEnv, type H2CodecName, type InnerH2Server } from '../../src/waypoint/h2-downstream-choice.js';
import type { HttpConnection, HttpConnectionSource } from '../../src/waypoint/http-connection.js';
import { httpLimits } from '../../src/waypoint/http-limits.js';
import { eventually } from '../helpers/eventually.js';

interface Seen {
  readonly x: DownstreamExchange;
  closed?: boolean;
  body: string;
  idle: number;
}

const CONN: HttpConnectionSource = { current: () => ({}) as HttpConnection };

for (const codec of ['own', 'nghttp2'] as const satisfies readonly H2CodecName[]) describe(`inner HTTP/2 (${codec} codec)`, () => {
  const seen: Seen[] = [];
  let behave: (x: DownstreamExchange, s: Seen) => void = () => undefined;
  let h2: InnerH2Server;
  let server: net.Server;
  let port = 0;

  before(async () => {
    h2 = createH2Downstream(httpLimits({ streamIdleTimeoutMs: 300 }), (_conn, x) => {
      const s: Seen = { x, body: '', idle: 0 };
      seen.push(s);
      x.attach({
        downstreamDrain: () => undefined,
        downstreamClosed: (finished) => (s.closed = finished),
        downstreamIdle: () => s.idle++,
      });
      if (x.body) {
        x.body.setEncoding('utf8');
        x.body.on('data', (c: string) => (s.body += c));
        x.body.on('end', () => behave(x, s));
      } else behave(x, s);
    }, codec);
    server = createTcpServer((socket) => h2.serve(socket, CONN));
    port = (await listenTcp(server, '127.0.0.1', 0)).port;
  });

  after(async () => {
    h2.destroyAll();
    await closeTcpServer(server, 200);
  });

  interface Got {
    status: number;
    headers: http2.IncomingHttpHeaders;
    body: string;
    trailers?: http2.IncomingHttpHeaders;
    error?: string;
    rstCode?: number;
  }

  function send(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string, trailers?: http2.OutgoingHttpHeaders): Promise<Got> {
    return new Promise((resolve) => {
      const req = session.request(headers, { endStream: body === undefined, waitForTrailers: trailers !== undefined });
      if (trailers) req.once('wantTrailers', () => req.sendTrailers(trailers));
      const got: Got = { status: 0, headers: {}, body: '' };
      req.setEncoding('utf8');
      req.on('response', (h) => ((got.status = Number(h[':status'])), (got.headers = h)));
      req.on('data', (c: string) => (got.body += c));
      req.on('trailers', (t: http2.IncomingHttpHeaders) => (got.trailers = t));
      req.on('close', () => resolve({ ...got, rstCode: req.rstCode }));
      req.on('error', (e: Error & { code?: string }) => (got.error = e.code ?? e.message));
      if (body !== undefined) req.end(body);
    });
  }

  const connect = (): http2.ClientHttp2Session => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on('error', () => undefined);
    return s;
  };

  it('request head, body and trailers in; head, body and trailers out', async () => {
    behave = (x, s) => {
      assert.equal(x.writeHead(200, ['x-a', '1', 'set-cookie', 'a=1', 'set-cookie', 'b=2']), true);
      x.write(Buffer.from(`got ${s.body} ${x.trailers()?.get('x-req-trailer') ?? '-'}`));
      x.end(['grpc-status', '0', 'x-resp-trailer', 'yes']);
    };
    const c = connect();
    try {
      const r = await send(c, { ':method': 'POST', ':path': '/p?q=1', ':authority': 'svc:80', 'x-in': 'v' }, 'hello', { 'x-req-trailer': 'tv' });
      assert.equal(r.status, 200);
      assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(r.body, 'got hello tv');
      assert.equal(r.trailers?.['grpc-status'], '0');
      assert.equal(r.trailers?.['x-resp-trailer'], 'yes');
      const s = seen.at(-1) as Seen;
      assert.equal(s.x.method, 'POST');
      assert.equal(s.x.target, '/p?q=1');
      assert.equal(s.x.authority, 'svc:80');
      assert.equal(s.x.headers.get('x-in'), 'v');
      assert.equal(s.x.headers.has(':path'), false);
      assert.equal(s.x.bodyless, false);
      await eventually(() => s.closed === true);
    } finally {
      c.close();
    }
  });

  it('a response without trailers ends cleanly; a local reply is one call; a bodyless request has no body', async () => {
    const c = connect();
    try {
      behave = (x) => {
        x.writeHead(204, []);
        x.end();
      };
      const a = await send(c, { ':path': '/a' });
      assert.equal(a.status, 204);
      assert.equal(a.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      assert.equal((seen.at(-1) as Seen).x.bodyless, true);
      assert.equal((seen.at(-1) as Seen).x.body, null);
      behave = (x) => assert.equal(x.respond(403, ['content-type', 'text/plain'], 'RBAC: access denied'), true);
      const b = await send(c, { ':path': '/b' });
      assert.equal(b.status, 403);
      assert.equal(b.body, 'RBAC: access denied');
      await eventually(() => (seen.at(-1) as Seen).closed === true);
    } finally {
      c.close();
    }
  });

  it('unwritable headers are refused without sending anything; reset is a reset, not a clean end', async () => {
    const c = connect();
    try {
      behave = (x) => {
        assert.equal(x.writeHead(200, ['x-bad', 'a\r\nx-injected: 1']), false);
        assert.equal(x.writeHead(200, ['Bad Name', 'v']), false);
        assert.equal(x.writeHead(200, ['connection', 'close']), false);
        assert.equal(x.headersSent, false);
        x.respond(500, [], 'fallback');
      };
      const a = await send(c, { ':path': '/bad' });
      assert.equal(a.status, 500);
      assert.equal(a.headers['x-injected'], undefined);
      behave = (x) => {
        x.writeHead(200, []);
        x.write(Buffer.from('partial'));
        x.reset();
      };
      const b = await send(c, { ':path': '/reset' });
      assert.notEqual(b.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      await eventually(() => (seen.at(-1) as Seen).closed === false);
    } finally {
      c.close();
    }
  });

  /** The frames the server sent (type, flags, stream, length), read off the client's socket. */
  async function framesOf(run: (c: http2.ClientHttp2Session) => Promise<unknown>): Promise<{ type: number; flags: number; stream: number; length: number }[]> {
    // Node's session reads a net.Socket natively: the client gets a JS stream over it instead.
    const socket = net.connect(port, '127.0.0.1');
    const bytes: Buffer[] = [];
    const tapped = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => socket.write(chunk, cb),
      final: (cb) => socket.end(cb),
    });
    socket.on('data', (b: Buffer) => (bytes.push(b), tapped.push(b)));
    socket.on('end', () => tapped.push(null));
    socket.on('close', () => tapped.destroy());
    socket.on('error', () => undefined);
    const c = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => tapped });
    c.on('error', () => undefined);
    try {
      await run(c);
    } finally {
      c.close();
    }
    const all = Buffer.concat(bytes);
    const frames = [];
    for (let i = 0; i + 9 <= all.length; ) {
      const length = all.readUIntBE(i, 3);
      frames.push({ type: all[i + 3] as number, flags: all[i + 4] as number, stream: all.readUInt32BE(i + 5) & 0x7fffffff, length });
      i += 9 + length;
    }
    return frames;
  }

  it('a response ended in the turn of its head ends on its last frame; one ended later still ends cleanly', async () => {
    const END_STREAM = 0x1;
    const DATA = 0x0;
    const HEADERS = 0x1;
    const frames = await framesOf(async (c) => {
      behave = (x) => {
        x.writeHead(200, ['content-type', 'text/plain']);
        x.write(Buffer.from('one read'));
        x.end();
      };
      assert.equal((await send(c, { ':path': '/together' })).body, 'one read');
      behave = (x) => {
        x.writeHead(200, []);
        x.end();
      };
      assert.equal((await send(c, { ':path': '/head-only' })).status, 200);
      behave = (x) => {
        x.writeHead(200, []);
        x.write(Buffer.from('first '));
        setImmediate(() => {
          x.write(Buffer.from('later'));
          x.end();
        });
      };
      const later = await send(c, { ':path': '/later' });
      assert.equal(later.body, 'first later');
      assert.equal(later.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    });
    const of = (id: number) => frames.filter((f) => f.stream === id && (f.type === DATA || f.type === HEADERS));
    // Stream 1: HEADERS, DATA with END_STREAM; no empty DATA frame after.
    assert.deepEqual(of(1).map((f) => [f.type, f.flags & END_STREAM, f.length > 0]), [[HEADERS, 0, true], [DATA, END_STREAM, true]]);
    // Stream 3: HEADERS with END_STREAM alone.
    assert.deepEqual(of(3).map((f) => [f.type, f.flags & END_STREAM]), [[HEADERS, END_STREAM]]);
    // Stream 5: its end came a turn later: whatever the frames, exactly the last one ends it.
    const five = of(5);
    assert.equal(five[0]?.type, HEADERS);
    assert.deepEqual(five.map((f) => f.flags & END_STREAM), [...five.slice(1).map(() => 0), END_STREAM]);
  });

  it('what Node would refuse in a head is refused by writeHead at once; bad trailers reset the stream', async () => {
    const c = connect();
    try {
      behave = (x) => {
        assert.equal(x.writeHead(200, ['content-type', 'a', 'content-type', 'b']), false);
        assert.equal(x.writeHead(200, ['te', 'gzip']), false);
        assert.equal(x.writeHead(200, ['transfer-encoding', 'chunked']), false);
        assert.equal(x.writeHead(199, []), false);
        assert.equal(x.writeHead(600, []), false);
        assert.equal(x.headersSent, false);
        assert.equal(x.writeHead(200, ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'te', 'trailers']), true);
        assert.equal(x.end(['connection', 'close']), false);
      };
      const r = await send(c, { ':path': '/refused' });
      assert.notEqual(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      await eventually(() => (seen.at(-1) as Seen).closed === false);
    } finally {
      c.close();
    }
  });

  it('bulk both ways: a 3 MiB upload and a 3 MiB download pass the flow-control windows whole', async () => {
    const c = connect();
    try {
      const up = Buffer.alloc(3 * 1024 * 1024, 'u');
      const down = Buffer.alloc(3 * 1024 * 1024, 'd');
      behave = (x, s) => {
        x.writeHead(200, ['x-got', String(s.body.length)]);
        // In pieces, honouring backpressure as the relay does.
        let at = 0;
        const pump = (): void => {
          while (at < down.length) {
            const piece = down.subarray(at, at + 100_000);
            at += piece.length;
            if (!x.write(piece)) return;
          }
          x.end();
        };
        x.attach({ downstreamDrain: pump, downstreamClosed: (f) => (s.closed = f), downstreamIdle: () => undefined });
        pump();
      };
      const r = await send(c, { ':method': 'POST', ':path': '/bulk' }, up.toString('latin1'));
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-got'], String(up.length));
      assert.equal(r.body.length, down.length);
      assert.equal(r.body, down.toString('latin1'));
    } finally {
      c.close();
    }
  });

  it('a response head larger than one frame goes out as HEADERS + CONTINUATION', async () => {
    const c = connect();
    try {
      const big = 'v'.repeat(40_000);
      behave = (x) => void x.respond(200, ['x-big', big, 'x-after', 'yes'], 'body');
      const r = await send(c, { ':path': '/big-head' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-big'], big);
      assert.equal(r.headers['x-after'], 'yes');
      assert.equal(r.body, 'body');
    } finally {
      c.close();
    }
  });

  it('stream idle: the exchange is told when nothing moves', async () => {
    const c = connect();
    try {
      behave = () => undefined;
      void send(c, { ':path': '/idle' });
      await eventually(() => (seen.at(-1))?.x.target === '/idle' && (seen.at(-1) as Seen).idle > 0);
      (seen.at(-1) as Seen).x.reset();
    } finally {
      c.close();
    }
  });

  it('drain: GOAWAY(2^31-1), in-flight streams finish, then the final GOAWAY and the session closes', async () => {
    const c = connect();
    const goaways: number[] = [];
    c.on('goaway', (_code: number, last: number) => goaways.push(last));
    let release = (): void => undefined;
    behave = (x) => {
      release = () => x.respond(200, [], 'late');
    };
    const slow = send(c, { ':path': '/slow' });
    await eventually(() => (seen.at(-1))?.x.target === '/slow');
    h2.drain();
    await eventually(() => goaways.length >= 1);
    assert.equal(goaways[0], 2 ** 31 - 1);
    // The client must not open new streams now; Node's refuses locally, and none reaches us.
    const before = seen.length;
    const refused = await send(c, { ':path': '/after' });
    assert.equal(refused.status, 0);
    assert.equal(seen.length, before);
    release();
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'late');
    await eventually(() => goaways.length >= 2, FINAL_GOAWAY_DELAY_MS * 5);
    await eventually(() => h2.openSessions === 0, FINAL_GOAWAY_DELAY_MS * 5);
    c.close();
  });
});

describe('inner HTTP/2 codec choice (AMBIENT_H2_CODEC)', () => {
  it('the own codec by default; nghttp2 only when asked for by name', () => {
    assert.equal(h2CodecFromEnv({}), 'own');
    assert.equal(h2CodecFromEnv({ AMBIENT_H2_CODEC: 'own' }), 'own');
    assert.equal(h2CodecFromEnv({ AMBIENT_H2_CODEC: 'something-else' }), 'own');
    assert.equal(h2CodecFromEnv({ AMBIENT_H2_CODEC: 'nghttp2' }), 'nghttp2');
    const run = (): void => undefined;
    assert.ok(createH2Downstream(httpLimits({}), run, 'nghttp2') instanceof H2Downstream);
    assert.ok(createH2Downstream(httpLimits({}), run, 'own') instanceof H2CodecDownstream);
  });
});
