/** SNI from a ClientHello: real Node ClientHellos, any split, records split, and hostile bytes. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { scanClientHello } from '../../src/net/client-hello.js';
import { sniMatches } from '../../src/routing/tcp-route-table.js';
import { captureClientHello } from '../helpers/client-hello.js';

describe('scanClientHello', () => {
  let hello: Buffer;
  let noSni: Buffer;
  before(async () => {
    hello = await captureClientHello('DB.Example.com');
    // Node sends no server_name for an IP address (RFC 6066 forbids literal IPs there).
    noSni = await captureClientHello(undefined);
  });

  it('reads the server name (lower-cased) once the ClientHello is whole, "more" before', () => {
    assert.deepEqual(scanClientHello(hello), { tls: true, sni: 'db.example.com' });
    for (let n = 0; n < hello.length; n++) assert.equal(scanClientHello(hello.subarray(0, n)), 'more', `prefix of ${n} bytes`);
    // Application data after the hello does not change the answer.
    assert.deepEqual(scanClientHello(Buffer.concat([hello, Buffer.from('trailing')])), { tls: true, sni: 'db.example.com' });
  });

  it('reassembles a ClientHello split across two TLS records', () => {
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const cut = 40;
    const record = (payload: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, payload.length >> 8, payload.length & 0xff]), payload]);
    const split = Buffer.concat([record(body.subarray(0, cut)), record(body.subarray(cut))]);
    assert.deepEqual(scanClientHello(split), { tls: true, sni: 'db.example.com' });
    assert.equal(scanClientHello(split.subarray(0, 5 + cut + 3)), 'more');
  });

  it('TLS without a server name, and anything that is not TLS, are decided without one', () => {
    assert.deepEqual(scanClientHello(noSni), { tls: true });
    assert.deepEqual(scanClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { tls: false });
    assert.deepEqual(scanClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])), { tls: false });
    // A handshake record that is not a ClientHello (a ServerHello).
    const server = Buffer.from(hello);
    server[5] = 0x02;
    assert.deepEqual(scanClientHello(server), { tls: false });
  });

  it('never throws on corrupted or random input (5,000 cases)', () => {
    for (let k = 0; k < 5000; k++) {
      const b = k % 2 === 0 ? Buffer.from(hello) : randomBytes(1 + (k % 600));
      if (k % 2 === 0) for (let f = 0; f < 1 + (k % 4); f++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const r = scanClientHello(b.subarray(0, Math.floor(Math.random() * (b.length + 1))));
      assert.ok(r === 'more' || typeof r.tls === 'boolean');
      if (r !== 'more' && r.sni !== undefined) assert.match(r.sni, /^[\x21-\x7e]+$/);
    }
  });
});

describe('sniMatches', () => {
  it('matches exact names and "*." wildcards covering at least one label; no SNI matches nothing', () => {
    assert.ok(sniMatches(['db.example.com'], 'db.example.com'));
    assert.ok(sniMatches(['*.example.com'], 'db.example.com'));
    assert.ok(sniMatches(['*.example.com'], 'a.b.example.com'));
    assert.ok(!sniMatches(['*.example.com'], 'example.com'));
    assert.ok(!sniMatches(['db.example.com'], 'x.db.example.com'));
    assert.ok(sniMatches(['*'], 'anything'));
    assert.ok(!sniMatches(['*'], undefined));
  });
});
