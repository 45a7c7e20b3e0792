/**
 * Spliced TCP sockets read into reused buffers (src/net/pooled-reads.ts): over real loopback
 * sockets, a slow reader never sees bytes overwritten by a later read (a pooled buffer is reused
 * only once the write that carried it is done), bytes a sniffer put back come first, small
 * exchanges take no pooled buffer, and half-close and reset behave as with 'data' events.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { after, describe, it } from 'node:test';
import { readsIntoPool } from '../../src/net/pooled-reads.js';
import { idleReadBuffers, MAX_IDLE_BUFFERS } from '../../src/net/read-buffer-pool.js';
import { connectTcp, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import { ByteTally, splice, type SpliceResult } from '../../src/net/splice.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';

const block = allocateBlock();
const HOST = block.pod(72);

// Everything a test opens is torn down here too, so a failed assertion ends the file, not hangs it.
const servers: { close: () => unknown }[] = [];
const streams: { destroy: () => unknown }[] = [];
after(() => {
  for (const s of streams) s.destroy();
  for (const s of servers) s.close();
});

interface Pair {
  readonly left: net.Socket;
  readonly right: net.Socket;
  readonly proxyLeft: net.Socket;
  readonly proxyRight: net.Socket;
  readonly done: Promise<SpliceResult>;
}

/**
 * left ⇄ [proxyLeft (accepted) ⇄ splice ⇄ proxyRight (connected)] ⇄ right. `beforeSplice` runs on
 * the accepted socket first (a sniffer reading and putting bytes back).
 */
async function splicedPair(beforeSplice?: (s: net.Socket) => Promise<void>, early?: Buffer): Promise<Pair> {
  let rightEnd: net.Socket | undefined;
  const target = createTcpServer((s) => {
    streams.push(s);
    rightEnd = s;
  });
  servers.push(target);
  const targetAddr = await listenTcp(target, HOST, 0);
  let spliced: { proxyLeft: net.Socket; proxyRight: net.Socket; done: Promise<SpliceResult> } | undefined;
  const proxy = createTcpServer((down) => {
    void (async () => {
      if (beforeSplice) await beforeSplice(down);
      const up = await connectTcp({ host: HOST, port: targetAddr.port, timeoutMs: 5000 });
      assert.ok(up.ok);
      streams.push(down, up.value);
      spliced = { proxyLeft: down, proxyRight: up.value, done: splice(down, up.value, new ByteTally()) };
    })();
  });
  servers.push(proxy);
  const proxyAddr = await listenTcp(proxy, HOST, 0);
  const left = await connectTcp({ host: HOST, port: proxyAddr.port, timeoutMs: 5000 });
  assert.ok(left.ok);
  streams.push(left.value);
  if (early) left.value.write(early);
  await eventually(() => assert.ok(rightEnd && spliced));
  const s = spliced as NonNullable<typeof spliced>;
  return { left: left.value, right: rightEnd as net.Socket, ...s };
}

/** Reads `s` slowly: pauses after every chunk and resumes only after a few turns of the loop. */
function slowCollect(s: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => {
    chunks.push(c);
    s.pause();
    setImmediate(() => setImmediate(() => s.resume()));
  });
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

async function send(s: Duplex, data: Buffer, piece: number): Promise<void> {
  for (let off = 0; off < data.length; off += piece) {
    if (!s.write(data.subarray(off, off + piece))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
}

describe('pooled reads under splice', () => {
  it('switches both spliced TCP sockets, accepted and connected, to reused buffers', async () => {
    const p = await splicedPair();
    assert.ok(readsIntoPool(p.proxyLeft), 'the accepted socket still reads into fresh buffers');
    assert.ok(readsIntoPool(p.proxyRight), 'the connected socket still reads into fresh buffers');
    p.left.destroy();
    p.right.destroy();
    await p.done;
  });

  it('delivers 4 × 8 MiB each way intact to slow readers while the pool is reused', async () => {
    const pairs = await Promise.all([splicedPair(), splicedPair(), splicedPair(), splicedPair()]);
    const flows = pairs.map((p) => {
      const up = randomBytes(8 * 1024 * 1024);
      const down = randomBytes(8 * 1024 * 1024);
      return { p, up, down, atRight: slowCollect(p.right), atLeft: slowCollect(p.left) };
    });
    await Promise.all(flows.flatMap((f) => [send(f.p.left, f.up, 65_536), send(f.p.right, f.down, 65_536)]));
    for (const f of flows) {
      assert.ok((await f.atRight).equals(f.up), 'bytes left → right differ');
      assert.ok((await f.atLeft).equals(f.down), 'bytes right → left differ');
      const r = await f.p.done;
      assert.equal(r.error, undefined);
      assert.equal(r.aToB, f.up.length);
      assert.equal(r.bToA, f.down.length);
    }
    // Buffers came back once their writes were done (the pool is what made the copy possible).
    assert.ok(idleReadBuffers() > 0);
    assert.ok(idleReadBuffers() <= MAX_IDLE_BUFFERS);
  });

  it('relays into an HTTP/2 stream with a slow reader intact', async () => {
    const server = http2.createServer();
    servers.push(server);
    const targetSocket = new Promise<net.Socket>((resolve) => {
      const t = createTcpServer((s) => {
        streams.push(s);
        resolve(s);
      });
      servers.push(t);
      void listenTcp(t, HOST, 0).then(async (addr) => {
        server.on('stream', (stream) => {
          stream.respond({ ':status': 200 });
          void connectTcp({ host: HOST, port: addr.port, timeoutMs: 5000 }).then((up) => {
            assert.ok(up.ok);
            streams.push(up.value);
            void splice(stream, up.value, new ByteTally());
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    const client = http2.connect(`http://${HOST}:${(server.address() as net.AddressInfo).port}`);
    streams.push(client);
    const req = client.request({ ':method': 'POST', ':path': '/' });
    const received = slowCollect(req);
    const app = await targetSocket;
    const data = randomBytes(16 * 1024 * 1024);
    req.end();
    await send(app, data, 65_536);
    assert.ok((await received).equals(data), 'bytes app → HTTP/2 stream differ');
    client.close();
    app.destroy();
  });

  it('hands over the bytes a sniffer put back before the rest, in order', async () => {
    const data = randomBytes(1024 * 1024);
    let sniffed = 0;
    const p = await splicedPair(
      (s) =>
        new Promise((resolve) => {
          s.once('data', (first: Buffer) => {
            sniffed = first.length;
            s.pause();
            s.unshift(first);
            resolve();
          });
        }),
      data.subarray(0, 100),
    );
    assert.equal(sniffed, 100);
    const atRight = slowCollect(p.right);
    await send(p.left, data.subarray(100), 4096);
    assert.ok((await atRight).equals(data));
    p.right.end();
    await p.done;
  });

  it('takes no pooled buffer for a small request/response exchange', async () => {
    const p = await splicedPair();
    const idleBefore = idleReadBuffers();
    p.right.on('data', (c: Buffer) => p.right.write(Buffer.concat([Buffer.from('re:'), c])));
    for (let i = 0; i < 50; i++) {
      const answer = new Promise<Buffer>((resolve) => p.left.once('data', resolve));
      p.left.write(`ping ${i}`);
      assert.equal((await answer).toString(), `re:ping ${i}`);
    }
    assert.equal(idleReadBuffers(), idleBefore);
    p.left.destroy();
    p.right.destroy();
    await p.done;
  });

  it('keeps half-close: the left half-closes and still gets the reply, then both end cleanly', async () => {
    const p = await splicedPair();
    const request = randomBytes(300_000);
    const reply = randomBytes(500_000);
    const atRight = slowCollect(p.right);
    const atLeft = slowCollect(p.left);
    await send(p.left, request, 65_536);
    assert.ok((await atRight).equals(request));
    await send(p.right, reply, 65_536);
    assert.ok((await atLeft).equals(reply));
    const r = await p.done;
    assert.equal(r.error, undefined);
  });

  it('turns a reset on one side into a reset on the other', async () => {
    const p = await splicedPair();
    const leftError = new Promise<NodeJS.ErrnoException>((resolve) => p.left.once('error', resolve));
    p.left.on('data', () => undefined);
    p.right.write(randomBytes(200_000));
    await eventually(() => assert.ok(p.proxyRight.bytesRead > 0));
    p.right.resetAndDestroy();
    assert.equal((await leftError).code, 'ECONNRESET');
    const r = await p.done;
    assert.ok(r.error);
  });
});
