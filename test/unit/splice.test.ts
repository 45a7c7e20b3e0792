/**
 * The L4 byte copy over real loopback sockets: bulk data both ways arrives whole and in order
 * (bulk chunks are batched per event-loop turn and the writable sides hold more than Node's
 * default before pausing), small messages are not held back waiting for a batch, and a side that
 * stops reading pauses the other instead of letting the splice buffer without bound.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { BULK_HIGH_WATER_MARK as SPLICE_WRITE_HIGH_WATER_MARK } from '../../src/net/bulk-high-water-mark.js';
import { ByteTally, splice } from '../../src/net/splice.js';
import { createTcpServer, connectTcp, listenTcp } from '../../src/net/sockets.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';

const block = allocateBlock();
const HOST = block.pod(71);

interface Pair {
  /** The far ends the test drives: `left` is spliced to `right` through the proxy. */
  readonly left: net.Socket;
  readonly right: net.Socket;
  readonly tally: ByteTally;
  readonly done: ReturnType<typeof splice>;
  /** The proxy's socket towards `right` (the splice's destination for left → right bytes). */
  readonly proxyRight: net.Socket;
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** left ⇄ [proxyLeft ⇄ splice ⇄ proxyRight] ⇄ right, all plain TCP on loopback. */
async function splicedPair(): Promise<Pair> {
  let rightEnd: net.Socket | undefined;
  const target = createTcpServer((s) => (rightEnd = s));
  servers.push(target);
  const targetAddr = await listenTcp(target, HOST, 0);
  const tally = new ByteTally();
  let done: ReturnType<typeof splice> | undefined;
  let proxyRight: net.Socket | undefined;
  const proxy = createTcpServer((down) => {
    void connectTcp({ host: HOST, port: targetAddr.port, timeoutMs: 5000 }).then((up) => {
      assert.ok(up.ok);
      proxyRight = up.value;
      done = splice(down, up.value, tally);
    });
  });
  servers.push(proxy);
  const proxyAddr = await listenTcp(proxy, HOST, 0);
  const left = await connectTcp({ host: HOST, port: proxyAddr.port, timeoutMs: 5000 });
  assert.ok(left.ok);
  await eventually(() => assert.ok(rightEnd && done));
  return { left: left.value, right: rightEnd as net.Socket, tally, done: done as ReturnType<typeof splice>, proxyRight: proxyRight as net.Socket };
}

function collect(s: net.Socket): { bytes: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => s.once('end', () => resolve()));
  return { bytes: () => Buffer.concat(chunks), ended };
}

/** Writes `data` in pieces of `piece` bytes, respecting back-pressure, then half-closes. */
async function send(s: net.Socket, data: Buffer, piece: number): Promise<void> {
  for (let off = 0; off < data.length; off += piece) {
    if (!s.write(data.subarray(off, off + piece))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
}

describe('splice', () => {
  it('copies 8 MiB each way at once, whole and in order, and reports the byte counts', async () => {
    const p = await splicedPair();
    const up = randomBytes(8 * 1024 * 1024);
    const down = randomBytes(8 * 1024 * 1024);
    const atRight = collect(p.right);
    const atLeft = collect(p.left);
    // Uneven pieces, so chunks of many sizes meet the batching.
    await Promise.all([send(p.left, up, 37_001), send(p.right, down, 65_536), atRight.ended, atLeft.ended]);
    assert.ok(atRight.bytes().equals(up), 'bytes left → right differ');
    assert.ok(atLeft.bytes().equals(down), 'bytes right → left differ');
    const result = await p.done;
    assert.equal(result.error, undefined);
    assert.equal(result.aToB, up.length);
    assert.equal(result.bToA, down.length);
    p.left.destroy();
    p.right.destroy();
  });

  it('passes small messages on at once (a request/response exchange of 200 round trips)', async () => {
    const p = await splicedPair();
    p.right.on('data', (c: Buffer) => p.right.write(Buffer.concat([Buffer.from('re:'), c])));
    for (let i = 0; i < 200; i++) {
      const answer = new Promise<Buffer>((resolve) => p.left.once('data', resolve));
      p.left.write(`ping ${i}`);
      assert.equal((await answer).toString(), `re:ping ${i}`);
    }
    p.left.destroy();
    p.right.destroy();
    await p.done;
  });

  it('pauses the source while the destination does not read (bounded buffering)', async () => {
    const p = await splicedPair();
    // The most the splice ever queued on its destination, sampled after each of its writes.
    let maxQueued = 0;
    const target = p.proxyRight as unknown as { write: (chunk: Buffer) => boolean };
    const write = target.write.bind(p.proxyRight);
    target.write = (chunk: Buffer): boolean => {
      const ok = write(chunk);
      maxQueued = Math.max(maxQueued, p.proxyRight.writableLength);
      return ok;
    };
    p.right.pause();
    const data = randomBytes(32 * 1024 * 1024);
    const atRight = collect(p.right);
    p.right.pause();
    const sending = send(p.left, data, 64 * 1024);
    // With `right` not reading, the kernel buffers fill, the splice's queue reaches its
    // high-water mark, the splice stops reading, and then `left` itself is held back. A splice
    // that kept reading would take all 32 MiB into its queue and `left` would never block.
    await eventually(() => assert.ok(p.left.writableLength > 0 && maxQueued >= SPLICE_WRITE_HIGH_WATER_MARK), 10_000);
    assert.ok(p.tally.aToB < data.length / 2, `the splice read ${p.tally.aToB} bytes while its destination was full`);
    p.right.resume();
    await Promise.all([sending, atRight.ended]);
    assert.ok(atRight.bytes().equals(data));
    assert.ok(maxQueued <= SPLICE_WRITE_HIGH_WATER_MARK + 64 * 1024, `queued up to ${maxQueued} bytes`);
    p.left.destroy();
    p.right.destroy();
    await p.done;
  });
});
