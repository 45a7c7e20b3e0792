import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GrpcFrameCounter } from '../../src/telemetry/grpc-frame-counter.js';
import { GrpcStats } from '../../src/telemetry/grpc-stats.js';

/** One length-prefixed gRPC message. */
function frame(payload: Buffer | string): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(p.length, 1);
  return Buffer.concat([head, p]);
}

describe('GrpcFrameCounter', () => {
  it('counts whole messages in one chunk, including empty ones', () => {
    const c = new GrpcFrameCounter();
    c.push(Buffer.concat([frame('hello'), frame(''), frame(Buffer.alloc(70_000))]));
    assert.equal(c.messages, 3);
  });

  it('counts messages split anywhere, byte by byte included', () => {
    const body = Buffer.concat([frame('a'), frame(Buffer.alloc(300)), frame('xyz'), frame('')]);
    for (const size of [1, 2, 3, 4, 5, 6, 7, 64]) {
      const c = new GrpcFrameCounter();
      for (let i = 0; i < body.length; i += size) c.push(body.subarray(i, i + size));
      assert.equal(c.messages, 4, `chunk size ${size}`);
    }
  });

  it('counts a message once its prefix is complete, before its payload has passed', () => {
    const c = new GrpcFrameCounter();
    c.push(frame(Buffer.alloc(1000)).subarray(0, 10));
    assert.equal(c.messages, 1);
    c.push(Buffer.alloc(0));
    assert.equal(c.messages, 1);
  });
});

describe('GrpcStats', () => {
  it('keeps the first valid grpc-status and ignores out-of-range or junk values', () => {
    const s = new GrpcStats();
    s.observeStatus(undefined);
    s.observeStatus('');
    s.observeStatus('17');
    s.observeStatus('x');
    assert.equal(s.status, undefined);
    s.observeStatus('14');
    s.observeStatus('0');
    assert.equal(s.status, 14);
  });
});
