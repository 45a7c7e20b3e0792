/**
 * The PROXY protocol v2 parser: known-good headers (INET, INET6, LOCAL, TLVs), each defect with its
 * stable code, and a property test: for seeded random and mutated inputs the parser never throws,
 * every strict prefix of a valid header is `incomplete` (or an early error only where a byte is
 * already wrong), and valid headers round-trip.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeProxyV2, parseProxyV2, PROXY_V2_SIGNATURE } from '../../src/net/proxy-protocol.js';
import type { ProxyParse } from '../../src/net/proxy-protocol.js';
import { seededRandom } from '../helpers/seeded-random.js';

const inet = encodeProxyV2({ sourceIp: '127.1.0.5', sourcePort: 41234, destIp: '127.1.0.9', destPort: 9080 });

function ok(p: ProxyParse) {
  assert.equal(p.status, 'ok', JSON.stringify(p));
  if (p.status !== 'ok') throw new Error('unreachable');
  return p.header;
}

function errorCode(p: ProxyParse): string {
  assert.equal(p.status, 'error', JSON.stringify(p));
  return p.status === 'error' ? p.code : '';
}

describe('PROXY v2 parser', () => {
  it('parses TCP over IPv4 and leaves what follows', () => {
    const h = ok(parseProxyV2(Buffer.concat([inet, Buffer.from('GET / HTTP/1.1\r\n')])));
    assert.equal(h.command, 'PROXY');
    assert.equal(h.transport, 'STREAM');
    assert.deepEqual(h.addresses, { family: 'INET', sourceIp: '127.1.0.5', sourcePort: 41234, destIp: '127.1.0.9', destPort: 9080 });
    assert.equal(h.length, 28);
  });

  it('parses IPv6, LOCAL, and TLVs', () => {
    const v6 = Buffer.alloc(16 + 36);
    PROXY_V2_SIGNATURE.copy(v6);
    v6[12] = 0x21;
    v6[13] = 0x21;
    v6.writeUInt16BE(36, 14);
    v6[16 + 15] = 1; // ::1
    v6[32 + 15] = 2; // ::2
    v6.writeUInt16BE(1000, 48);
    v6.writeUInt16BE(80, 50);
    const h6 = ok(parseProxyV2(v6));
    assert.deepEqual(h6.addresses, { family: 'INET6', sourceIp: '0:0:0:0:0:0:0:1', destIp: '0:0:0:0:0:0:0:2', sourcePort: 1000, destPort: 80 });
    assert.equal(ok(parseProxyV2(encodeProxyV2('LOCAL'))).command, 'LOCAL');
    const tlvs = Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb, 0x02, 0x00, 0x00]);
    const h = ok(parseProxyV2(encodeProxyV2({ sourceIp: '1.2.3.4', sourcePort: 1, destIp: '5.6.7.8', destPort: 2 }, tlvs)));
    assert.deepEqual(h.tlvs.map((t) => [t.type, t.value.toString('hex')]), [[4, 'aabb'], [2, '']]);
  });

  it('names each defect with a stable code', () => {
    assert.equal(errorCode(parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))), 'BAD_SIGNATURE');
    assert.equal(errorCode(parseProxyV2(Buffer.from('GET'))), 'BAD_SIGNATURE', 'fails on the first wrong byte');
    const mutate = (i: number, v: number): Buffer => {
      const b = Buffer.from(inet);
      b[i] = v;
      return b;
    };
    assert.equal(errorCode(parseProxyV2(mutate(12, 0x11))), 'BAD_VERSION');
    assert.equal(errorCode(parseProxyV2(mutate(12, 0x22))), 'BAD_COMMAND');
    assert.equal(errorCode(parseProxyV2(mutate(13, 0x41))), 'BAD_FAMILY');
    assert.equal(errorCode(parseProxyV2(mutate(13, 0x13))), 'BAD_FAMILY');
    const short = Buffer.from(inet);
    short.writeUInt16BE(8, 14);
    assert.equal(errorCode(parseProxyV2(short)), 'BAD_LENGTH');
    const badTlv = encodeProxyV2({ sourceIp: '1.2.3.4', sourcePort: 1, destIp: '5.6.7.8', destPort: 2 }, Buffer.from([0x04, 0x00, 0x09, 0xaa]));
    assert.equal(errorCode(parseProxyV2(badTlv)), 'BAD_TLV');
    const stubTlv = encodeProxyV2({ sourceIp: '1.2.3.4', sourcePort: 1, destIp: '5.6.7.8', destPort: 2 }, Buffer.from([0x04, 0x00]));
    assert.equal(errorCode(parseProxyV2(stubTlv)), 'BAD_TLV');
  });

  it('reports incomplete headers with the length needed', () => {
    assert.deepEqual(parseProxyV2(inet.subarray(0, 5)), { status: 'incomplete', needed: 16 });
    assert.deepEqual(parseProxyV2(inet.subarray(0, 20)), { status: 'incomplete', needed: 28 });
  });

  it('property: never throws; prefixes are incomplete; mutations never crash; round trips hold', () => {
    const rand = seededRandom(0x50524f58);
    const byte = (): number => Math.floor(rand() * 256);
    for (let n = 0; n < 3000; n++) {
      // Random addresses and TLVs round-trip.
      const ip = (): string => [byte(), byte(), byte(), byte()].join('.');
      const a = { sourceIp: ip(), sourcePort: Math.floor(rand() * 65536), destIp: ip(), destPort: Math.floor(rand() * 65536) };
      const tlvParts: Buffer[] = [];
      const tlvCount = Math.floor(rand() * 3);
      for (let t = 0; t < tlvCount; t++) {
        const len = Math.floor(rand() * 20);
        const tlv = Buffer.alloc(3 + len);
        tlv[0] = byte();
        tlv.writeUInt16BE(len, 1);
        for (let i = 0; i < len; i++) tlv[3 + i] = byte();
        tlvParts.push(tlv);
      }
      const header = encodeProxyV2(a, Buffer.concat(tlvParts));
      const h = ok(parseProxyV2(Buffer.concat([header, Buffer.from([byte(), byte()])])));
      assert.deepEqual(h.addresses, { family: 'INET', ...a });
      assert.equal(h.tlvs.length, tlvCount);
      assert.equal(h.length, header.length);
      // Every strict prefix of a valid header asks for more.
      const cut = Math.floor(rand() * header.length);
      assert.equal(parseProxyV2(header.subarray(0, cut)).status, 'incomplete');
      // A mutated header parses to some outcome, never a throw, and an ok never claims more bytes than it has.
      const m = Buffer.from(header);
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) m[Math.floor(rand() * m.length)] = byte();
      const r = parseProxyV2(m);
      if (r.status === 'ok') assert.ok(r.header.length <= m.length);
      // Pure noise with a valid signature.
      const noise = Buffer.alloc(Math.floor(rand() * 80));
      for (let i = 0; i < noise.length; i++) noise[i] = byte();
      const rn = parseProxyV2(Buffer.concat([PROXY_V2_SIGNATURE, noise]));
      assert.ok(['ok', 'incomplete', 'error'].includes(rn.status));
    }
  });
});
