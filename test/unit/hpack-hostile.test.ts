/**
 * The HPACK decoder's strictness (RFC 7541 §4.2, §5.1, §5.2, §6): each malformed block is a
 * coded HpackError, and after one the decoder refuses further blocks. Also the memory bound
 * (HEADER_LIST_TOO_LARGE) and what is valid at the edges (empty block, two size updates, a size
 * update equal to our limit).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackError } from '../../src/http2/hpack/hpack-error.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function refuses(bytes: string, message: RegExp, d = new HpackDecoder()): void {
  assert.throws(
    () => d.decode(hex(bytes)),
    (err: unknown) => err instanceof HpackError && err.code === 'COMPRESSION_ERROR' && message.test(err.message),
    `${bytes} should be refused with ${String(message)}`,
  );
  // The table may be out of step with the peer's now: nothing more is decoded.
  assert.throws(() => d.decode(hex('82')), (err: unknown) => err instanceof HpackError && err.code === 'COMPRESSION_ERROR');
}

describe('HPACK decoder refuses malformed blocks', () => {
  it('an empty block is valid and yields no fields', () => {
    assert.deepEqual(new HpackDecoder().decode(new Uint8Array(0)), { fields: [], listSize: 0 });
  });

  it('index 0, as an indexed field and as a literal name index', () => {
    refuses('80', /index 0/);
    refuses('4000', /string/); // 0x40 0x00 is a new name (empty): valid name, then no value
    refuses('0f00', /^(?!x)/); // prefix 15 + 0 = 15: a static name, then no value: truncated
  });

  it('an index beyond the static and dynamic tables', () => {
    refuses('be', /beyond/);
    const d = new HpackDecoder();
    d.decode(hex('4001 61 01 62')); // a: b into the dynamic table, now index 62
    assert.deepEqual(d.decode(hex('be')).fields, ['a', 'b']);
    refuses('bf', /beyond/, d);
    refuses('7f01 0162', /beyond/); // literal with the name of index 64
  });

  it('integer overflow and too many continuation bytes', () => {
    refuses('ff ffffffff0f', /overflow/);
    refuses('ff 8080808080 00', /too many continuation/);
    refuses('ff 80', /truncated integer/);
    // 2^31 - 1 itself decodes (and is then an index far beyond the tables).
    refuses('ff 80feffff07', /beyond/);
  });

  it('a string longer than the rest of the block', () => {
    refuses('000a 61', /runs past the block/);
    refuses('0001 61 05 6162', /runs past the block/);
    refuses('00ff 81', /truncated integer|runs past/);
  });

  it('a truncated block: a name or value missing', () => {
    refuses('40', /missing/);
    refuses('41', /missing/);
    refuses('0001 61', /missing/);
  });

  it('Huffman: the EOS symbol inside a string', () => {
    refuses('0001 61 85 ffffffffc0', /EOS/);
    refuses('0001 61 84 ffffffff', /EOS/); // 32 ones: the first 30 are EOS
  });

  it('Huffman: padding longer than 7 bits', () => {
    refuses('0001 61 81 ff', /padding/);
    refuses('0001 61 82 1fff', /padding/); // "a" (00011) then 11 ones
  });

  it('Huffman: padding not all ones', () => {
    refuses('0001 61 81 00', /padding/); // "0" (00000) then 000
    refuses('0001 61 81 1e', /padding/); // "a" (00011) then 110
    assert.deepEqual(new HpackDecoder().decode(hex('0001 61 81 1f')).fields, ['a', 'a']);
  });

  it('a dynamic table size update larger than our SETTINGS_HEADER_TABLE_SIZE', () => {
    const d = new HpackDecoder({ maxTableSize: 4096 });
    assert.deepEqual(d.decode(hex('3fe11f')).fields, []); // 4096: allowed
    assert.equal(d.dynamicTableMaxSize, 4096);
    refuses('3fe21f', /exceeds our limit/, new HpackDecoder({ maxTableSize: 4096 }));
    refuses('3f01', /exceeds our limit/, new HpackDecoder({ maxTableSize: 0 }));
  });

  it('a size update after a field, and more than two size updates', () => {
    refuses('82 20', /after a field/);
    refuses('20 20 20', /more than two/);
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('20 3f0f 82')).fields, [':method', 'GET']);
    assert.equal(d.dynamicTableMaxSize, 46);
  });

  it('the table starts at 4096 whatever our limit (the peer may encode before it sees our SETTINGS)', () => {
    const d = new HpackDecoder({ maxTableSize: 0 });
    assert.equal(d.dynamicTableMaxSize, 4096);
    assert.deepEqual(d.decode(hex('4001 61 01 62')).fields, ['a', 'b']);
    assert.deepEqual(d.decode(hex('be')).fields, ['a', 'b'], 'still indexed');
    // Once the peer applies our limit with a size update, the entry is gone.
    assert.deepEqual(d.decode(hex('20')).fields, []);
    refuses('be', /beyond/, d);
  });

  it('a size update evicts what no longer fits', () => {
    const d = new HpackDecoder();
    d.decode(hex('4001 61 01 62 4001 63 01 64')); // (a,b) then (c,d): 34 each
    assert.deepEqual(d.decode(hex('3f03')).fields, []); // 34
    assert.deepEqual(d.dynamicEntries(), [['c', 'd']]);
    refuses('bf', /beyond/, d);
  });

  it('the list-size memory bound: HEADER_LIST_TOO_LARGE past hardListLimit, not before', () => {
    const big = 'x'.repeat(3000);
    const block = Buffer.concat([hex('4001 61 7f b9 16'), Buffer.from(big, 'latin1'), Buffer.alloc(400, 0xbe)]);
    // Each 0xbe repeats a 3,033-byte field: 401 of them ≈ 1.2 MiB of list size from a 3.4 KiB block.
    assert.throws(
      () => new HpackDecoder().decode(block),
      (err: unknown) => err instanceof HpackError && err.code === 'HEADER_LIST_TOO_LARGE',
    );
    const r = new HpackDecoder({ hardListLimit: 2 * 1024 * 1024 }).decode(block);
    assert.equal(r.fields.length, 802);
    assert.equal(r.listSize, 401 * (1 + 3000 + 32));
  });

  it('names and values come back exactly as sent: no lower-casing, any byte', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('0003 4142 43 03 00ff 0a')).fields, ['ABC', '\x00\xff\n']);
    // A plain Uint8Array view at an offset (not a Buffer) reads the same.
    const backing = new Uint8Array([0xee, 0xee, ...hex('0003 4142 43 03 00ff 0a 8286'), 0xee]);
    assert.deepEqual(new HpackDecoder().decode(backing.subarray(2, backing.length - 1)).fields, ['ABC', '\x00\xff\n', ':method', 'GET', ':scheme', 'http']);
  });
});
