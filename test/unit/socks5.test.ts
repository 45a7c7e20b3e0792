import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { Socks5AcceptResult, Socks5Event } from '../../src/ztunnel/socks5.js';
import { SOCKS5_REPLY, Socks5Parser, acceptSocks5, replyBytes, writeSocks5Reply } from '../../src/ztunnel/socks5.js';
import { socks5Connect, Socks5Error } from '../../src/net/socks5-client.js';

const GREETING = Buffer.from([5, 1, 0]);

function connectReq(atyp: number, addr: number[], port: number): Buffer {
  return Buffer.from([5, 1, 0, atyp, ...addr, port >> 8, port & 0xff]);
}

/** Feeds bytes one at a time and collects every non-'more' event. */
function feedBytewise(bytes: Buffer): Socks5Event[] {
  const p = new Socks5Parser();
  const events: Socks5Event[] = [];
  for (const b of bytes) {
    p.push(Buffer.from([b]));
    for (let ev = p.next(); ev.kind !== 'more'; ev = p.next()) {
      events.push(ev);
      if (ev.kind === 'request' || ev.kind === 'error') return events;
    }
  }
  return events;
}

test('parser: greeting and IPv4 CONNECT arriving one byte at a time', () => {
  const evs = feedBytewise(Buffer.concat([GREETING, connectReq(1, [127, 1, 2, 3], 8080)]));
  assert.equal(evs.length, 2);
  assert.deepEqual(evs[0], { kind: 'greeting', send: Buffer.from([5, 0]) });
  const req = evs[1];
  assert.ok(req?.kind === 'request');
  assert.deepEqual(req.request, { addressType: 'ipv4', host: '127.1.2.3', port: 8080, isIp: true });
  assert.equal(req.rest.length, 0);
});

test('parser: pipelined greeting + domain request + early payload in one chunk', () => {
  const name = Buffer.from('reviews.default');
  const p = new Socks5Parser();
  p.push(Buffer.concat([Buffer.from([5, 2, 2, 0]), Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0x23, 0x82]), Buffer.from('GET /')]));
  assert.equal(p.next().kind, 'greeting');
  const ev = p.next();
  assert.ok(ev.kind === 'request');
  assert.deepEqual(ev.request, { addressType: 'domain', host: 'reviews.default', port: 9090, isIp: false });
  assert.equal(ev.rest.toString(), 'GET /');
  assert.equal(p.next(), ev, 'done: keeps returning the final event');
});

test('parser: a domain that is an IP literal is flagged isIp', () => {
  const name = Buffer.from('127.100.0.1');
  const evs = feedBytewise(Buffer.concat([GREETING, Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0, 80])]));
  const req = evs[1];
  assert.ok(req?.kind === 'request');
  assert.equal(req.request.isIp, true);
  assert.equal(req.request.host, '127.100.0.1');
});

test('parser: IPv6 addresses are formatted compressed', () => {
  const addr = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const evs = feedBytewise(Buffer.concat([GREETING, connectReq(4, addr, 443)]));
  const req = evs[1];
  assert.ok(req?.kind === 'request');
  assert.deepEqual(req.request, { addressType: 'ipv6', host: '2001:db8::1', port: 443, isIp: true });
  const loop = feedBytewise(Buffer.concat([GREETING, connectReq(4, [...Array<number>(15).fill(0), 1], 1)]))[1];
  assert.ok(loop?.kind === 'request');
  assert.equal(loop.request.host, '::1');
});

function errorOf(bytes: Buffer): { reason: string; reply?: number } {
  const evs = feedBytewise(bytes);
  const last = evs[evs.length - 1];
  assert.ok(last?.kind === 'error', `expected an error, got ${JSON.stringify(last)}`);
  return last.send ? { reason: last.reason, reply: last.send.length === 10 ? last.send[1] : 0xff } : { reason: last.reason };
}

test('parser: protocol errors and their replies', () => {
  assert.equal(errorOf(Buffer.from('GET / HTTP/1.1\r\n')).reply, undefined, 'not SOCKS5: just close');
  assert.equal(errorOf(Buffer.from([4, 1, 0, 80])).reply, undefined, 'SOCKS4: just close');
  assert.equal(errorOf(Buffer.from([5, 1, 2])).reply, 0xff, 'no acceptable method');
  assert.equal(errorOf(Buffer.from([5, 0])).reply, 0xff, 'zero methods');
  assert.equal(errorOf(Buffer.concat([GREETING, Buffer.from([5, 2, 0, 1])])).reply, SOCKS5_REPLY.COMMAND_NOT_SUPPORTED, 'BIND');
  assert.equal(errorOf(Buffer.concat([GREETING, Buffer.from([5, 3, 0, 1])])).reply, SOCKS5_REPLY.COMMAND_NOT_SUPPORTED, 'UDP');
  assert.equal(errorOf(Buffer.concat([GREETING, Buffer.from([5, 1, 0, 9])])).reply, SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED);
  assert.equal(errorOf(Buffer.concat([GREETING, Buffer.from([4, 1, 0, 1])])).reply, SOCKS5_REPLY.GENERAL_FAILURE);
  assert.equal(errorOf(Buffer.concat([GREETING, Buffer.from([5, 1, 0, 3, 0])])).reply, SOCKS5_REPLY.HOST_UNREACHABLE);
});

test('parser: random garbage never throws and never asks for more than the protocol allows', () => {
  for (let i = 0; i < 2000; i++) {
    const len = 1 + Math.floor(Math.random() * 300);
    const bytes = Buffer.alloc(len);
    for (let j = 0; j < len; j++) bytes[j] = Math.floor(Math.random() * 256);
    if (i % 2 === 0) bytes[0] = 5; // get past the first check half the time
    const p = new Socks5Parser();
    p.push(bytes);
    let ev = p.next();
    if (ev.kind === 'greeting') ev = p.next();
    // 2+255 greeting + 262 request is the most the parser may need before deciding.
    if (ev.kind === 'more') assert.ok(len < 2 + 255 + 262, `stuck on ${len} bytes`);
  }
});

test('replyBytes encodes the bound address', () => {
  assert.deepEqual([...replyBytes(SOCKS5_REPLY.SUCCEEDED, { address: '127.1.2.3', port: 0x1f90 })], [5, 0, 0, 1, 127, 1, 2, 3, 0x1f, 0x90]);
  assert.deepEqual([...replyBytes(SOCKS5_REPLY.NOT_ALLOWED)], [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
});

/** A server that runs acceptSocks5 and hands each result to `onResult`. */
async function withServer(
  onResult: (socket: net.Socket, r: Socks5AcceptResult) => void,
  body: (port: number) => Promise<void>,
  timeoutMs = 2000,
): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    void acceptSocks5(s, { timeoutMs }).then((r) => onResult(s, r));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await body((server.address() as net.AddressInfo).port);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
}

test('acceptSocks5 on a socket: success keeps early payload for the tunnel', async () => {
  await withServer(
    (s, r) => {
      assert.ok(r.ok);
      s.on('error', () => undefined);
      writeSocks5Reply(s, SOCKS5_REPLY.SUCCEEDED);
      // Echo with a prefix naming the requested target, so the client can check both.
      s.write(`${r.request.host}:${r.request.port}|`);
      s.pipe(s);
    },
    async (port) => {
      const c = await socks5Connect({ proxyHost: '127.0.0.1', proxyPort: port, host: 'reviews', port: 9080 });
      c.end('hello');
      const chunks: Buffer[] = [];
      for await (const chunk of c) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'reviews:9080|hello');
    },
  );
});

test('acceptSocks5: bytes sent in the same packet as the request reach the tunnel', async () => {
  await withServer(
    (s, r) => {
      assert.ok(r.ok);
      writeSocks5Reply(s, SOCKS5_REPLY.SUCCEEDED);
      s.pipe(s);
    },
    async (port) => {
      const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      await once(c, 'connect');
      c.end(Buffer.concat([GREETING, connectReq(1, [127, 0, 0, 1], 1), Buffer.from('early')]));
      const chunks: Buffer[] = [];
      for await (const chunk of c) chunks.push(chunk as Buffer);
      const all = Buffer.concat(chunks);
      assert.deepEqual([...all.subarray(0, 2)], [5, 0]);
      assert.equal(all[3], 0, 'reply code success');
      assert.equal(all.subarray(12).toString(), 'early');
    },
  );
});

test('acceptSocks5: an error reply closes the connection and the client sees the code', async () => {
  await withServer(
    (s, r) => {
      assert.ok(r.ok);
      writeSocks5Reply(s, SOCKS5_REPLY.NOT_ALLOWED);
    },
    async (port) => {
      await assert.rejects(socks5Connect({ proxyHost: '127.0.0.1', proxyPort: port, host: '127.1.0.1', port: 80 }), (e: unknown) => {
        assert.ok(e instanceof Socks5Error);
        assert.equal(e.reply, 0x02);
        return true;
      });
    },
  );
});

test('acceptSocks5: garbage, an early close and a silent client all resolve not-ok, nothing throws', async () => {
  const results: Socks5AcceptResult[] = [];
  await withServer(
    (_s, r) => results.push(r),
    async (port) => {
      const garbage = net.connect({ host: '127.0.0.1', port });
      garbage.on('error', () => undefined);
      garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(garbage, 'close');

      const quitter = net.connect({ host: '127.0.0.1', port });
      quitter.on('error', () => undefined);
      await once(quitter, 'connect');
      quitter.end(Buffer.from([5, 1]));

      const silent = net.connect({ host: '127.0.0.1', port });
      silent.on('error', () => undefined);
      await once(silent, 'connect');
      const t0 = Date.now();
      await once(silent, 'close');
      assert.ok(Date.now() - t0 >= 150, 'closed by the handshake timeout');
      const deadline = Date.now() + 2000;
      while (results.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(results.length, 3);
      assert.ok(results.every((r) => !r.ok));
      assert.ok(results.some((r) => !r.ok && /timed out/.test(r.reason)));
    },
    200,
  );
});
