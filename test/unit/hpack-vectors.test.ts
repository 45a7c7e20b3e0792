/**
 * RFC 7541 Appendix C, as facts: integer encodings (C.1), the request and response series with
 * and without Huffman (C.2-C.6) through our decoder, with the dynamic table's contents and size
 * after each block, and the same series through our encoder where the RFC's choices match ours
 * (C.3/C.4: the bytes must be identical).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackEncoder } from '../../src/http2/hpack/hpack-encoder.js';
import { readInteger, writeInteger } from '../../src/http2/hpack/hpack-integer.js';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength, maxHuffmanDecodedLength } from '../../src/http2/hpack/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Step {
  readonly bytes: string;
  readonly fields: readonly string[];
  readonly table: ReadonlyArray<readonly [string, string]>;
  readonly size: number;
}

function decodeSeries(maxTableSize: number, steps: readonly Step[]): void {
  const d = new HpackDecoder({ maxTableSize, initialTableSize: maxTableSize });
  for (const [i, s] of steps.entries()) {
    const r = d.decode(hex(s.bytes));
    assert.deepEqual(r.fields, s.fields, `block ${i} fields`);
    let listSize = 0;
    for (let k = 0; k < s.fields.length; k += 2) listSize += (s.fields[k] as string).length + (s.fields[k + 1] as string).length + 32;
    assert.equal(r.listSize, listSize, `block ${i} list size`);
    assert.deepEqual(d.dynamicEntries(), s.table, `block ${i} dynamic table`);
    assert.equal(d.dynamicTableSize, s.size, `block ${i} table size`);
  }
}

const AUTH = [':authority', 'www.example.com'] as const;
const CACHE = ['cache-control', 'no-cache'] as const;
const CUSTOM = ['custom-key', 'custom-value'] as const;
const REQ1 = [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'];
const REQ2 = [...REQ1, 'cache-control', 'no-cache'];
const REQ3 = [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value'];

const C3: readonly Step[] = [
  { bytes: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', fields: REQ1, table: [AUTH], size: 57 },
  { bytes: '8286 84be 5808 6e6f 2d63 6163 6865', fields: REQ2, table: [CACHE, AUTH], size: 110 },
  { bytes: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', fields: REQ3, table: [CUSTOM, CACHE, AUTH], size: 164 },
];
const C4: readonly Step[] = [
  { bytes: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', fields: REQ1, table: [AUTH], size: 57 },
  { bytes: '8286 84be 5886 a8eb 1064 9cbf', fields: REQ2, table: [CACHE, AUTH], size: 110 },
  { bytes: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', fields: REQ3, table: [CUSTOM, CACHE, AUTH], size: 164 },
];

const D21 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const D22 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESP1 = [':status', '302', 'cache-control', 'private', 'date', D21, 'location', LOC];
const RESP2 = [':status', '307', 'cache-control', 'private', 'date', D21, 'location', LOC];
const RESP3 = [':status', '200', 'cache-control', 'private', 'date', D22, 'location', LOC, 'content-encoding', 'gzip', 'set-cookie', COOKIE];
const T1: ReadonlyArray<readonly [string, string]> = [['location', LOC], ['date', D21], ['cache-control', 'private'], [':status', '302']];
const T2: ReadonlyArray<readonly [string, string]> = [[':status', '307'], ['location', LOC], ['date', D21], ['cache-control', 'private']];
const T3: ReadonlyArray<readonly [string, string]> = [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', D22]];

const C5: readonly Step[] = [
  {
    bytes: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
            2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
    fields: RESP1,
    table: T1,
    size: 222,
  },
  { bytes: '4803 3330 37c1 c0bf', fields: RESP2, table: T2, size: 222 },
  {
    bytes: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
            54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
            5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
    fields: RESP3,
    table: T3,
    size: 215,
  },
];
const C6: readonly Step[] = [
  {
    bytes: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
            2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    fields: RESP1,
    table: T1,
    size: 222,
  },
  { bytes: '4883 640e ffc1 c0bf', fields: RESP2, table: T2, size: 222 },
  {
    bytes: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
            77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
            9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    fields: RESP3,
    table: T3,
    size: 215,
  },
];

describe('HPACK RFC 7541 Appendix C', () => {
  it('C.1 integers: 10 and 1337 with a 5-bit prefix, 42 with an 8-bit prefix', () => {
    const cases: Array<[number, number, string]> = [
      [10, 5, '0a'],
      [1337, 5, '1f9a0a'],
      [42, 8, '2a'],
    ];
    for (const [value, prefix, bytes] of cases) {
      const buf = Buffer.alloc(8);
      const end = writeInteger(buf, 0, value, prefix, 0);
      assert.equal(buf.subarray(0, end).toString('hex'), bytes);
      const cur = { pos: 0 };
      assert.equal(readInteger(buf, cur, end, prefix), value);
      assert.equal(cur.pos, end);
    }
  });

  it('C.2.1-C.2.4 single representations, each on a fresh decoder', () => {
    decodeSeries(4096, [{ bytes: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', fields: ['custom-key', 'custom-header'], table: [['custom-key', 'custom-header']], size: 55 }]);
    decodeSeries(4096, [{ bytes: '040c 2f73 616d 706c 652f 7061 7468', fields: [':path', '/sample/path'], table: [], size: 0 }]);
    decodeSeries(4096, [{ bytes: '1008 7061 7373 776f 7264 0673 6563 7265 74', fields: ['password', 'secret'], table: [], size: 0 }]);
    decodeSeries(4096, [{ bytes: '82', fields: [':method', 'GET'], table: [], size: 0 }]);
  });

  it('C.3 requests without Huffman', () => decodeSeries(4096, C3));
  it('C.4 requests with Huffman', () => decodeSeries(4096, C4));
  it('C.5 responses without Huffman, 256-byte table with evictions', () => decodeSeries(256, C5));
  it('C.6 responses with Huffman, 256-byte table with evictions', () => decodeSeries(256, C6));

  it('our encoder produces the C.4 bytes exactly (Huffman when shorter, incremental indexing)', () => {
    const e = new HpackEncoder();
    for (const s of C4) assert.equal(e.encode(s.fields).toString('hex'), s.bytes.replace(/\s+/g, ''));
  });

  it('Huffman strings of C.4 and C.6 encode and decode both ways', () => {
    const pairs: Array<[string, string]> = [
      ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
      ['no-cache', 'a8eb 1064 9cbf'],
      ['custom-key', '25a8 49e9 5ba9 7d7f'],
      ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
      ['302', '6402'],
      ['307', '640e ff'],
      ['private', 'aec3 771a 4b'],
      [D21, 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
      [LOC, '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
      ['gzip', '9bd9 ab'],
      [COOKIE, '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'],
    ];
    for (const [text, bytes] of pairs) {
      const want = hex(bytes);
      assert.equal(huffmanEncodedLength(text), want.length, text);
      const buf = Buffer.alloc(want.length);
      assert.equal(huffmanEncode(text, buf, 0), want.length);
      assert.deepEqual(buf, want, text);
      const out = Buffer.alloc(maxHuffmanDecodedLength(want.length));
      const n = huffmanDecode(want, 0, want.length, out);
      assert.equal(out.toString('latin1', 0, n), text);
    }
  });

  it('every byte value round-trips through Huffman, alone and in a run', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));
    for (const s of [...all, all.join(''), all.reverse().join('')]) {
      const buf = Buffer.alloc(huffmanEncodedLength(s));
      huffmanEncode(s, buf, 0);
      const out = Buffer.alloc(maxHuffmanDecodedLength(buf.length));
      const n = huffmanDecode(buf, 0, buf.length, out);
      assert.equal(out.toString('latin1', 0, n), s);
    }
  });
});
