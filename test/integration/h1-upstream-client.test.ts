/**
 * The waypoint's own HTTP/1.1 upstream client over real sockets: plain TCP endpoints and HBONE
 * tunnels. Keep-alive reuse, `Connection: close`, chunked both ways with trailers, an early
 * response, a reset mid-body, a malformed response, backpressure with a slow reader,
 * maxConnections queueing, maxRequestsPerConnection, idle timeouts (configured and the
 * upstream's Keep-Alive hint), aborts, and a request refused before any byte leaves.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneConnect } from '../../src/hbone/types.js';
import { listenTcp } from '../../src/net/sockets.js';
import type { Endpoint } from '../../src/state/mesh-view.js';
import { UpstreamHttpClient, attemptFailureOf } from '../../src/upstream/http-client.js';
import type { UpstreamPoolSettings } from '../../src/upstream/http-client.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { workload } from '../helpers/mesh-builders.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();

interface Result {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: string[] | null;
}

interface Call {
  readonly done: Promise<Result>;
  abort(): void;
  /** Pause every body chunk for `ms` (a slow reader). */
}

/** Sends one request through `client` with undici's classic handler callbacks. */
function call(client: UpstreamHttpClient, ep: Endpoint, options: Partial<Dispatcher.DispatchOptions> & { path: string }, settings?: UpstreamPoolSettings, slowMs = 0): Call {
  let abortFn: ((err?: Error) => void) | undefined;
  const done = new Promise<Result>((resolve, reject) => {
    let status = 0;
    const headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let resumeFn: (() => void) | undefined;
    const handler: Dispatcher.DispatchHandler = {
      onConnect: (abort) => (abortFn = abort),
      onHeaders: (s, raw, resume) => {
        if (s < 200) return true;
        status = s;
        resumeFn = resume;
        for (let i = 0; i < raw.length; i += 2) headers[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
        return true;
      },
      onData: (chunk) => {
        chunks.push(Buffer.from(chunk));
        if (slowMs === 0) return true;
        setTimeout(() => resumeFn?.(), slowMs);
        return false;
      },
      onComplete: (trailers) => resolve({ status, headers, body: Buffer.concat(chunks), trailers }),
      onError: reject,
    };
    client.dispatch(ep, 'h1', { method: 'GET', headers: ['host', 'upstream.test'], ...options }, handler, settings);
  });
  return { done, abort: () => abortFn?.() };
}

/** The JSON an upstream of these tests answers with. */
function json(r: Result): { url: string; body: string; te?: string | null } {
  return JSON.parse(r.body.toString()) as { url: string; body: string; te?: string | null };
}

function tcpEndpoint(ip: string, port: number): Endpoint {
  return { workload: workload({ name: `tcp-${port}`, ip, protocol: 'TCP' }), targetPort: port };
}

/** A scripted upstream: each connection is handed to `onConnection`; counts connections. */
class RawUpstream {
  connections = 0;
  closed = 0;
  private readonly server: net.Server;
  port = 0;
  constructor(
    private readonly ip: string,
    onConnection: (s: net.Socket, n: number) => void,
  ) {
    this.server = net.createServer((s) => {
      const n = ++this.connections;
      s.on('error', () => undefined);
      s.on('close', () => this.closed++);
      onConnection(s, n);
    });
  }
  async start(): Promise<Endpoint> {
    this.port = (await listenTcp(this.server, this.ip, 0)).port;
    return tcpEndpoint(this.ip, this.port);
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Reads one request head from `s` and calls `then` with it (the rest of the bytes read so far). */
function onHead(s: net.Socket, then: (head: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    s.off('data', onData);
    then(buf.subarray(0, end).toString('latin1'), buf.subarray(end + 4));
  };
  s.on('data', onData);
}

describe('h1 upstream client over TCP', () => {
  const ip = block.pod(1);
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string> }[] = [];
  let sockets = 0;
  let closedSockets = 0;
  let writesBlocked = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, trailers: req.trailers });
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/close') res.setHeader('connection', 'close');
      if (url.pathname === '/hint') res.setHeader('keep-alive', 'timeout=3');
      if (url.pathname === '/chunked') {
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write('part1-');
        res.write('part2');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
        return;
      }
      if (url.pathname === '/big') {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let left = 32;
        const pump = (): void => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) {
              writesBlocked++;
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      if (url.pathname === '/slow') {
        setTimeout(() => res.end(`slow ${url.searchParams.get('n')}`), 50);
        return;
      }
      res.end(JSON.stringify({ url: req.url, body }));
    });
  });
  server.on('connection', (s: net.Socket) => {
    sockets++;
    s.on('close', () => closedSockets++);
  });
  // Node's default keep-alive timeout (5 s) would close idle connections during the tests.
  server.keepAliveTimeout = 60_000;
  let ep: Endpoint;
  const client = new UpstreamHttpClient({ dial: () => Promise.reject(new Error('no HBONE here')), source: () => Promise.reject(new Error('no certs')) });

  before(async () => {
    ep = tcpEndpoint(ip, (await listenTcp(server, ip, 0)).port);
  });

  after(async () => {
    await client.close(200);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    const before = sockets;
    for (let i = 0; i < 5; i++) {
      const r = await call(client, ep, { path: `/seq?i=${i}` }).done;
      assert.equal(r.status, 200);
      assert.equal(json(r).url, `/seq?i=${i}`);
    }
    assert.equal(sockets - before, 1);
    const last = seen[seen.length - 1];
    assert.equal(last?.headers.connection, 'keep-alive');
    assert.equal(last?.headers.host, 'upstream.test');
    assert.equal(last?.headers['content-length'], undefined);
  });

  it('opens a new connection after the upstream said Connection: close', async () => {
    const closed = closedSockets;
    const before = sockets;
    for (let i = 0; i < 3; i++) assert.equal((await call(client, ep, { path: '/close' }).done).status, 200);
    // The first may reuse the previous test's connection; each is closed after its response.
    await eventually(() => assert.equal(closedSockets - closed, 3));
    assert.ok(sockets - before >= 2);
  });

  it('sends a Buffer body with its Content-Length, a stream without one chunked; reads chunked trailers', async () => {
    const a = await call(client, ep, { method: 'POST', path: '/buf', body: Buffer.from('hello') }).done;
    assert.equal(json(a).body, 'hello');
    assert.equal(seen[seen.length - 1]?.headers['content-length'], '5');
    const b = await call(client, ep, { method: 'POST', path: '/stream', body: Readable.from([Buffer.from('one-'), Buffer.from('two')]) }).done;
    assert.equal(json(b).body, 'one-two');
    assert.equal(seen[seen.length - 1]?.headers['transfer-encoding'], 'chunked');
    const c = await call(client, ep, { path: '/chunked' }).done;
    assert.equal(c.body.toString(), 'part1-part2');
    assert.deepEqual(c.trailers, ['x-checksum', 'abc']);
    // An empty stream body on POST is `content-length: 0`, like undici.
    await call(client, ep, { method: 'POST', path: '/empty', body: Readable.from([]) }).done;
    assert.equal(seen[seen.length - 1]?.headers['content-length'], '0');
  });

  it('a chunked stream body of large and small chunks arrives byte for byte (framing written around the payload)', async () => {
    // Large chunks go out as size line, payload and CRLF pieces of one write; small ones are
    // copied into one buffer with their framing; the first carries the head. Distinct letters per
    // chunk, so a misplaced piece of framing or payload shows in the body.
    const sizes = [40_000, 300, 16_385, 5, 70_000];
    const chunks = sizes.map((n, i) => Buffer.alloc(n, 0x61 + i));
    const r = await call(client, ep, { method: 'POST', path: '/stream-large', body: Readable.from(chunks) }).done;
    assert.equal(r.status, 200);
    const got = seen[seen.length - 1];
    assert.equal(got?.headers['transfer-encoding'], 'chunked');
    assert.equal(got?.body, Buffer.concat(chunks).toString());
    // And a large first chunk that is the whole body, with the head in the same write.
    const one = Buffer.alloc(100_000, 0x7a);
    await call(client, ep, { method: 'POST', path: '/stream-one', body: Readable.from([one]) }).done;
    assert.equal(seen[seen.length - 1]?.body, one.toString());
  });

  it('a stream body with a Content-Length header is sent with it, and a short one fails', async () => {
    const ok = await call(client, ep, { method: 'PUT', path: '/cl', headers: ['host', 'h', 'content-length', '6'], body: Readable.from([Buffer.from('abc'), Buffer.from('def')]) }).done;
    assert.equal(json(ok).body, 'abcdef');
    assert.equal(seen[seen.length - 1]?.headers['content-length'], '6');
    await assert.rejects(call(client, ep, { method: 'PUT', path: '/cl', headers: ['host', 'h', 'content-length', '9'], body: Readable.from([Buffer.from('abc')]) }).done, {
      code: 'H1_REQUEST_LENGTH_MISMATCH',
    });
  });

  it('backpressure: a slow reader pauses the upstream and still gets every byte', async () => {
    const blocked = writesBlocked;
    const r = await call(client, ep, { path: '/big' }, undefined, 2).done;
    assert.equal(r.body.length, 32 * 64 * 1024);
    assert.ok(writesBlocked > blocked, 'the upstream saw backpressure');
  });

  it('maxConnections queues requests beyond it on the busy connections', async () => {
    const before = sockets;
    const settings = { maxConnections: 1 };
    const rs = await Promise.all([1, 2, 3].map((n) => call(client, ep, { path: `/slow?n=${n}` }, settings).done));
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      ['slow 1', 'slow 2', 'slow 3'],
    );
    assert.equal(sockets - before, 1);
  });

  it('maxRequestsPerConnection: the last request says close and the next gets a new connection', async () => {
    const before = sockets;
    const settings = { maxRequestsPerConnection: 2 };
    for (let i = 0; i < 4; i++) await call(client, ep, { path: `/mr?i=${i}` }, settings).done;
    assert.equal(sockets - before, 2);
    assert.deepEqual(
      seen.slice(-4).map((s) => s.headers.connection),
      ['keep-alive', 'close', 'keep-alive', 'close'],
    );
  });

  it('closes idle connections after the idle timeout, and after the upstream Keep-Alive hint less 2 s', async () => {
    const closed = closedSockets;
    await call(client, ep, { path: '/idle' }, { idleTimeoutMs: 150 }).done;
    await eventually(() => assert.equal(closedSockets - closed, 1), 3000);
    const t0 = Date.now();
    await call(client, ep, { path: '/hint' }, { idleTimeoutMs: 100_000 }).done;
    await eventually(() => assert.equal(closedSockets - closed, 2), 5000);
    assert.ok(Date.now() - t0 >= 800, 'closed by the 3 s hint less 2 s, not earlier');
  });

  it('refuses a header value with CR/LF before connecting: INVALID_UPSTREAM_REQUEST_HEADERS', async () => {
    const before = sockets;
    const err = await call(client, ep, { path: '/x', headers: ['host', 'h', 'x-bad', 'a\r\nb: c'] }).done.then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal(attemptFailureOf(err, false).code, 'INVALID_UPSTREAM_REQUEST_HEADERS');
    assert.equal(sockets, before);
  });

  it('takes a Record of headers (the Wasm http_call shape)', async () => {
    const r = await call(client, ep, { path: '/rec', headers: { host: 'rec.test', 'x-multi': ['a', 'b'] } }).done;
    assert.equal(r.status, 200);
    assert.equal(seen[seen.length - 1]?.headers.host, 'rec.test');
    assert.equal(seen[seen.length - 1]?.headers['x-multi'], 'a, b');
  });
});

describe('h1 upstream client against a misbehaving upstream', () => {
  const ip = block.pod(2);
  const upstreams: RawUpstream[] = [];
  const client = new UpstreamHttpClient({ dial: () => Promise.reject(new Error('no HBONE here')), source: () => Promise.reject(new Error('no certs')) });
  const start = async (fn: (s: net.Socket, n: number) => void): Promise<[RawUpstream, Endpoint]> => {
    const u = new RawUpstream(ip, fn);
    upstreams.push(u);
    return [u, await u.start()];
  };

  after(async () => {
    await client.close(200);
    for (const u of upstreams) await u.close();
  });

  it('a malformed response is UPSTREAM_PROTOCOL_ERROR and its connection is not reused', async () => {
    const [u, ep] = await start((s) => onHead(s, () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')));
    const err = await call(client, ep, { path: '/bad' }).done.then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal(attemptFailureOf(err, true).code, 'UPSTREAM_PROTOCOL_ERROR');
    await eventually(() => assert.equal(u.closed, 1));
  });

  it('a reset mid-body after the head is reported as an error (UPSTREAM_RESET before headers)', async () => {
    const [, ep] = await start((s, n) =>
      onHead(s, () => {
        if (n === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b', () => s.resetAndDestroy());
        else s.resetAndDestroy();
      }),
    );
    let headers = 0;
    const err = await new Promise<Error>((resolve) => {
      client.dispatch(ep, 'h1', { method: 'GET', path: '/cut', headers: ['host', 'h'] }, { onConnect: () => undefined, onHeaders: () => (headers++, true), onData: () => true, onComplete: () => resolve(new Error('completed')), onError: resolve });
    });
    assert.equal(headers, 1);
    assert.notEqual(err.message, 'completed');
    const before = await call(client, ep, { path: '/again' }).done.then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal(attemptFailureOf(before, true).code, 'UPSTREAM_RESET');
  });

  it('an early response (before the request body ended) completes and the connection is dropped', async () => {
    const [u, ep] = await start((s) => onHead(s, () => s.write('HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nnope')));
    let pulls = 0;
    const body = new Readable({
      read() {
        // Trickles forever: only the early answer can end this request.
        if (++pulls < 1000) setTimeout(() => this.push(Buffer.from('x')), 5);
      },
    });
    const r = await call(client, ep, { method: 'POST', path: '/upload', body }).done;
    assert.equal(r.status, 413);
    assert.equal(r.body.toString(), 'nope');
    await eventually(() => assert.equal(u.closed, 1));
    assert.ok(body.destroyed, 'the rest of the body is not read');
  });

  it('bytes after a complete response make the connection unusable (never handed to the next request)', async () => {
    const [u, ep] = await start((s) => onHead(s, () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale')));
    assert.equal((await call(client, ep, { path: '/a' }).done).body.toString(), 'ok');
    await eventually(() => assert.equal(u.closed, 1));
    assert.equal((await call(client, ep, { path: '/b' }).done).body.toString(), 'ok');
    assert.equal(u.connections, 2);
  });

  it('a body read until close completes at the close', async () => {
    const [, ep] = await start((s) => onHead(s, () => s.end('HTTP/1.1 200 OK\r\n\r\nall of it')));
    const r = await call(client, ep, { path: '/eof' }).done;
    assert.equal(r.body.toString(), 'all of it');
  });

  it('abort() mid-response destroys the connection and reports nothing more', async () => {
    const [u, ep] = await start((s) => onHead(s, () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial')));
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      let abort: ((err?: Error) => void) | undefined;
      client.dispatch(
        ep,
        'h1',
        { method: 'GET', path: '/abort', headers: ['host', 'h'] },
        {
          onConnect: (a) => (abort = a),
          onHeaders: () => (events.push('headers'), true),
          onData: () => {
            events.push('data');
            abort?.(new Error('no longer wanted'));
            setTimeout(resolve, 50);
            return true;
          },
          onComplete: () => events.push('complete'),
          onError: () => events.push('error'),
        },
      );
    });
    assert.deepEqual(events, ['headers', 'data']);
    await eventually(() => assert.equal(u.closed, 1));
  });

  it('a connect failure is UPSTREAM_CONNECT_FAILED', async () => {
    const probe = net.createServer();
    const port = (await listenTcp(probe, ip, 0)).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await call(client, tcpEndpoint(ip, port), { path: '/' }).done.then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal(attemptFailureOf(err, false).code, 'UPSTREAM_CONNECT_FAILED');
  });
});

describe('h1 upstream client over HBONE tunnels', () => {
  const pod = block.pod(3);
  let ca: TestCa;
  let server: HboneServer;
  let pool: HbonePool;
  let client: UpstreamHttpClient;
  let tunnels = 0;
  let innerConnections = 0;
  const inner = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/malformed') {
        res.socket?.end('HTTP/1.1 200 OK\r\nBad Header\r\n\r\n');
        return;
      }
      res.end(JSON.stringify({ url: req.url, body, te: req.headers['transfer-encoding'] ?? null }));
    });
  });
  inner.on('connection', () => innerConnections++);
  inner.keepAliveTimeout = 60_000;
  const ep = (): Endpoint => ({ workload: workload({ name: 'hbone-ep', ip: pod, serviceAccount: 'srv', namespace: 'srv' }), targetPort: 8080 });

  before(async () => {
    ca = await createTestCa();
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: () => ca.id('srv', 'srv'),
      handler: (c: HboneConnect) => {
        tunnels++;
        inner.emit('connection', c.accept());
      },
    });
    await server.addListener(pod, 15008);
    pool = new HbonePool({ trust: ca.certSource });
    const material = await ca.issue(ca.id('waypoint', 'waypoint'));
    client = new UpstreamHttpClient({ dial: (d) => pool.dial(d), source: () => Promise.resolve(material) });
  });

  after(async () => {
    await client.close(200);
    await pool.close(100);
    await server.close(100);
  });

  it('reuses one tunnel for sequential requests, both body framings', async () => {
    const t = tunnels;
    const a = await call(client, ep(), { path: '/one' }).done;
    assert.equal(json(a).url, '/one');
    const b = await call(client, ep(), { method: 'POST', path: '/two', body: Buffer.from('buffered') }).done;
    assert.equal(json(b).body, 'buffered');
    const c = await call(client, ep(), { method: 'POST', path: '/three', body: Readable.from([Buffer.from('stre'), Buffer.from('amed')]) }).done;
    assert.deepEqual(json(c), { url: '/three', body: 'streamed', te: 'chunked' });
    assert.equal(tunnels - t, 1);
  });

  it('concurrent requests open one tunnel each and all complete', async () => {
    const rs = await Promise.all([1, 2, 3, 4].map((n) => call(client, ep(), { path: `/c${n}` }).done));
    assert.deepEqual(
      rs.map((r) => json(r).url),
      ['/c1', '/c2', '/c3', '/c4'],
    );
    assert.ok(innerConnections >= 4);
  });

  it('a malformed response inside the tunnel is UPSTREAM_PROTOCOL_ERROR', async () => {
    const err = await call(client, ep(), { path: '/malformed' }).done.then(
      () => assert.fail('should fail'),
      (e: Error) => e,
    );
    assert.equal(attemptFailureOf(err, true).code, 'UPSTREAM_PROTOCOL_ERROR');
  });
});
