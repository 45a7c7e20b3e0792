/**
 * The HPACK encoder's choices (static exact match, name index, dynamic indexing, never-indexed
 * credentials, not-indexed per-message fields, Huffman only when shorter, table size updates per
 * §4.2/§6.3) and a property test: random field lists through the encoder and our decoder, many
 * blocks in sequence with the peer's table size changing, come back unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackEncoder } from '../../src/http2/hpack/hpack-encoder.js';
import { seededRandom } from '../helpers/seeded-random.js';

const hexOf = (b: Buffer): string => b.toString('hex');

describe('HPACK encoder', () => {
  it('a static exact match is one indexed byte', () => {
    const e = new HpackEncoder();
    assert.equal(hexOf(e.encode([':method', 'GET', ':path', '/', ':scheme', 'https', ':status', '404', 'accept-encoding', 'gzip, deflate'])), '8284878d90');
  });

  it('a name match is a literal with the name index, then indexed from the dynamic table', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const first = e.encode(['user-agent', 'h2load']);
    assert.equal(first[0], 0x40 | 58); // incremental indexing, name index 58
    assert.deepEqual(d.decode(first).fields, ['user-agent', 'h2load']);
    const again = e.encode(['user-agent', 'h2load', 'x-custom', 'v', 'x-custom', 'v']);
    assert.equal(again[0], 0xbe); // dynamic index 62
    assert.deepEqual(d.decode(again).fields, ['user-agent', 'h2load', 'x-custom', 'v', 'x-custom', 'v']);
    assert.equal(again[again.length - 1], 0xbe); // the second x-custom is the newest entry
    // A new value of a known custom name takes the name from the dynamic table.
    const other = e.encode(['x-custom', 'w']);
    assert.equal(other[0], 0x40 | 62);
    assert.deepEqual(d.decode(other).fields, ['x-custom', 'w']);
  });

  it('credentials and short cookies are never indexed; long cookies are', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields = ['authorization', 'Bearer abc', 'proxy-authorization', 'Basic Zm9v', 'set-cookie', 'a=b', 'cookie', 'short=1'];
    for (let round = 0; round < 2; round++) {
      const b = e.encode(fields);
      assert.equal(hexOf(b.subarray(0, 2)), '1f08'); // never indexed, name index 23
      assert.deepEqual(d.decode(b).fields, fields);
      assert.deepEqual(d.dynamicEntries(), []);
    }
    const long = ['cookie', 'session=0123456789abcdef0123'];
    assert.equal(e.encode(long)[0], 0x40 | 32);
    assert.equal(hexOf(e.encode(long)), 'be');
  });

  it(':path, content-length and the like are not indexed; a field over 3/4 of the table is not', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields = [':path', '/a/b', 'content-length', '12', 'etag', '"x"', 'x-big', 'y'.repeat(3100)];
    for (let round = 0; round < 2; round++) {
      const b = e.encode(fields);
      assert.equal(b[0], 0x04);
      assert.deepEqual(d.decode(b).fields, fields);
      assert.deepEqual(d.dynamicEntries(), []);
    }
  });

  it('request ids and trace context: indexed once for the name, then literals that leave the table alone', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const first = ['user-agent', 'ua', 'x-request-id', 'id-1'];
    assert.deepEqual(d.decode(e.encode(first)).fields, first);
    assert.deepEqual(d.dynamicEntries(), [['x-request-id', 'id-1'], ['user-agent', 'ua']]);
    for (let i = 2; i < 50; i++) {
      const b = e.encode(['user-agent', 'ua', 'x-request-id', `id-${i}`, 'traceparent', `00-${i}`]);
      assert.equal(hexOf(b.subarray(0, 3)), i === 2 ? 'bf0f2f' : 'c00f30'); // user-agent indexed; the id without indexing, its name from the table
      assert.deepEqual(d.decode(b).fields, ['user-agent', 'ua', 'x-request-id', `id-${i}`, 'traceparent', `00-${i}`]);
    }
    // Only the first value of each name went into the table.
    assert.deepEqual(d.dynamicEntries(), [['traceparent', '00-2'], ['x-request-id', 'id-1'], ['user-agent', 'ua']]);
  });

  it('Huffman only when it is shorter', () => {
    const e = new HpackEncoder();
    const huff = e.encode(['x-a', 'www.example.com']);
    // 0x40, name "x-a" (3 raw bytes: Huffman would be 3 too), value Huffman (12 < 15).
    assert.equal(hexOf(huff.subarray(0, 5)), '4003782d61');
    assert.equal(huff[5], 0x80 | 12);
    const raw = e.encode(['x-b', '\x00\x01\x02']);
    assert.equal(hexOf(raw.subarray(5)), '03000102');
    assert.deepEqual(new HpackDecoder().decode(Buffer.concat([huff])).fields, ['x-a', 'www.example.com']);
    // Around the 1-byte length boundary (126/127) and the empty string, both forms.
    const d = new HpackDecoder();
    for (const v of ['', 'a'.repeat(126), 'a'.repeat(127), 'a'.repeat(200), '\xff'.repeat(126), '\xff'.repeat(127)]) {
      assert.deepEqual(d.decode(e.encode(['x-len', v])).fields, ['x-len', v]);
    }
    assert.equal(hexOf(e.encode(['x-empty', ''])).slice(-2), '00'); // raw, not a Huffman empty string
  });

  it('a changed peer table size opens the next block with a size update; the smallest first', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    e.setPeerMaxTableSize(65536); // capped at our 4096: nothing changes
    assert.equal(hexOf(e.encode([':method', 'GET'])), '82');
    e.setPeerMaxTableSize(0);
    const b = e.encode(['x-a', 'b']);
    assert.equal(hexOf(b.subarray(0, 2)), '2000'); // size 0, then without indexing (nothing fits)
    assert.deepEqual(d.decode(b).fields, ['x-a', 'b']);
    assert.equal(d.dynamicTableMaxSize, 0);
    e.setPeerMaxTableSize(100);
    e.setPeerMaxTableSize(4096);
    e.setPeerMaxTableSize(200);
    const c = e.encode(['x-a', 'b']);
    assert.equal(hexOf(c.subarray(0, 4)), '3f453fa9'); // 100 then 200
    assert.deepEqual(d.decode(c).fields, ['x-a', 'b']);
    assert.equal(d.dynamicTableMaxSize, 200);
    assert.deepEqual(d.dynamicEntries(), [['x-a', 'b']]);
    e.setPeerMaxTableSize(200); // unchanged: no update
    assert.equal(hexOf(e.encode(['x-a', 'b'])), 'be');
  });

  it('round trip: random field lists, 2,000 blocks in sequence, table size changing', () => {
    const rnd = seededRandom(7541);
    const int = (n: number): number => Math.floor(rnd() * n);
    const names = [':method', ':path', ':authority', ':status', 'accept', 'user-agent', 'cookie', 'authorization', 'x-request-id', 'x-b3-traceid', 'content-length', 'date', 'set-cookie', 'x-custom', 'X-Upper', ''];
    const values = ['GET', 'POST', '/', '/index.html', '200', '404', 'gzip, deflate', '', 'www.example.com'];
    const randomString = (max: number): string => {
      let s = '';
      const len = int(max);
      const binary = rnd() < 0.2;
      for (let i = 0; i < len; i++) s += String.fromCharCode(binary ? int(256) : 0x20 + int(95));
      return s;
    };
    for (const tableCap of [4096, 256]) {
      const e = new HpackEncoder();
      e.setPeerMaxTableSize(tableCap);
      const d = new HpackDecoder({ maxTableSize: tableCap });
      for (let block = 0; block < 1000; block++) {
        if (rnd() < 0.05) e.setPeerMaxTableSize(int(tableCap + 1));
        if (rnd() < 0.02) e.setPeerMaxTableSize(tableCap);
        const fields: string[] = [];
        for (let n = int(20); n > 0; n--) {
          fields.push(rnd() < 0.7 ? (names[int(names.length)] as string) : randomString(12));
          fields.push(rnd() < 0.4 ? (values[int(values.length)] as string) : randomString(rnd() < 0.05 ? 3000 : 60));
        }
        const r = d.decode(e.encode(fields));
        assert.deepEqual(r.fields, fields, `block ${block}`);
      }
    }
  });
});
