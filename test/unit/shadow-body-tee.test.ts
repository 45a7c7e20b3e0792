/**
 * The mirror body tee: the real request gets every byte whatever the shadows do; a shadow that
 * keeps up gets the same bytes; one that falls behind is dropped; a source error resets shadows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { MAX_SHADOW_LAG_BYTES, shadowBody, teeToShadows } from '../../src/routing/shadow-body-tee.js';

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('teeToShadows', () => {
  it('copies every chunk to a reading shadow and passes all of it through', async () => {
    const data = [randomBytes(1000), randomBytes(70_000), randomBytes(5)];
    const shadow = shadowBody();
    const copied = collect(shadow);
    const main = await collect(teeToShadows(Readable.from(data), [shadow]));
    assert.deepEqual(main, Buffer.concat(data));
    assert.deepEqual(await copied, Buffer.concat(data));
  });

  it('drops a shadow that falls behind, never slowing the real request', async () => {
    const chunk = randomBytes(256 * 1024);
    const n = Math.ceil((2 * MAX_SHADOW_LAG_BYTES) / chunk.length) + 2;
    const stalled = shadowBody();
    stalled.on('error', () => {});
    const main = await collect(teeToShadows(Readable.from(Array.from({ length: n }, () => chunk)), [stalled]));
    assert.equal(main.length, n * chunk.length);
    assert.equal(stalled.destroyed, true);
  });

  it('resets the shadows when the source fails', async () => {
    const source = new PassThrough();
    const shadow = shadowBody();
    const shadowError = new Promise<Error>((resolve) => shadow.on('error', resolve));
    const tee = teeToShadows(source, [shadow]);
    tee.on('error', () => {});
    tee.resume();
    source.write('partial');
    source.destroy(new Error('client reset'));
    assert.match((await shadowError).message, /client reset/);
  });
});
