/**
 * GuestMemory (src/wasm/guest-memory.ts) keeps one view of a plugin's memory and re-takes it only
 * when growth detached the old buffer: reads and writes after a `grow` (from the plugin or from
 * the allocator the host calls) see the new memory, including the pages added, and bounds follow
 * the new size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Status } from '../../src/wasm/abi.js';
import { GuestMemory } from '../../src/wasm/guest-memory.js';

const PAGE = 65536;

describe('wasm guest memory view', () => {
  it('follows growth: old contents kept, new pages reachable, bounds widened', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const g = new GuestMemory();
    g.bind(mem, () => 0);
    assert.ok(g.writeBytes(100, Buffer.from('hello')));
    assert.equal(g.readString(100, 5), 'hello');
    assert.equal(g.readString(PAGE, 1), undefined, 'past the end before growth');

    mem.grow(1);
    assert.equal(g.readString(100, 5), 'hello', 'contents survive the new buffer');
    assert.ok(g.writeBytes(PAGE + 10, Buffer.from('world')));
    assert.equal(g.readBytesString(PAGE + 10, 5), 'world');
    assert.ok(g.writeU32(PAGE + 20, 0xdeadbeef));
    assert.equal(new DataView(mem.buffer).getUint32(PAGE + 20, true), 0xdeadbeef);
    assert.deepEqual(g.read(PAGE + 10, 5), Buffer.from('world'));
    assert.equal(g.read(2 * PAGE - 2, 4), undefined, 'bounds follow the new size');
  });

  it('copyOut when the allocator grows memory writes into the new buffer', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const g = new GuestMemory();
    // An allocator that grows memory and hands out the first byte of the new page.
    g.bind(mem, () => mem.grow(1) * PAGE);
    assert.equal(g.readString(0, 1), '\0', 'view taken before growth');
    assert.equal(g.copyOut(Buffer.from('abc'), 8, 12), Status.OK);
    const view = new DataView(mem.buffer);
    const ptr = view.getUint32(8, true);
    assert.equal(ptr, PAGE);
    assert.equal(view.getUint32(12, true), 3);
    assert.equal(Buffer.from(mem.buffer, ptr, 3).toString(), 'abc');
    assert.equal(g.readString(ptr, 3), 'abc');
  });
});
