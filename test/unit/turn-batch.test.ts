/**
 * Bulk chunks written in one event-loop turn leave as one write (the first at once, the rest
 * corked until the turn's check phase); small chunks are never held back.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BATCH_MIN_CHUNK_BYTES, TurnBatch } from '../../src/net/turn-batch.js';

/** A writable that records each call it gets: `single` per `_write`, `batch:N` per `_writev`. */
function recorder(): { stream: Writable; calls: string[]; bytes: () => number } {
  const calls: string[] = [];
  let total = 0;
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      calls.push('single');
      total += chunk.length;
      cb();
    },
    writev(chunks, cb) {
      calls.push(`batch:${chunks.length}`);
      for (const c of chunks) total += (c.chunk as Buffer).length;
      cb();
    },
  });
  return { stream, calls, bytes: () => total };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('TurnBatch', () => {
  it('writes the first bulk chunk of a turn at once and the rest of the turn as one batch', async () => {
    const { stream, calls, bytes } = recorder();
    const batch = new TurnBatch(stream);
    const chunk = Buffer.alloc(BATCH_MIN_CHUNK_BYTES * 2);
    for (let i = 0; i < 6; i++) {
      batch.before(chunk.length);
      stream.write(chunk);
    }
    assert.deepEqual(calls, ['single'], 'the first chunk is not delayed; the others wait for the turn to end');
    await turn();
    await turn();
    assert.deepEqual(calls, ['single', 'batch:5']);
    assert.equal(bytes(), 6 * chunk.length);
    // The next turn starts over: its first chunk goes at once again.
    batch.before(chunk.length);
    stream.write(chunk);
    assert.deepEqual(calls, ['single', 'batch:5', 'single']);
  });

  it('never holds back small chunks', () => {
    const { stream, calls } = recorder();
    const batch = new TurnBatch(stream);
    for (let i = 0; i < 4; i++) {
      batch.before(100);
      stream.write(Buffer.alloc(100));
    }
    assert.deepEqual(calls, ['single', 'single', 'single', 'single']);
  });

  it('an end in the same turn flushes what was held', async () => {
    const { stream, bytes } = recorder();
    const batch = new TurnBatch(stream);
    const chunk = Buffer.alloc(BATCH_MIN_CHUNK_BYTES);
    for (let i = 0; i < 3; i++) {
      batch.before(chunk.length);
      stream.write(chunk);
    }
    const finished = new Promise<void>((r) => stream.once('finish', () => r()));
    stream.end();
    await finished;
    assert.equal(bytes(), 3 * chunk.length);
    await turn();
  });
});
