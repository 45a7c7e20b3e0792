/**
 * The L4 splice over real sockets: an HTTP/2 stream whose peer ends it cleanly (END_STREAM) and
 * then resets it with NO_ERROR (RFC 9113 §8.1: "the response is complete, stop sending") is a
 * normal close — no "stream aborted by peer" error, the TCP side gets every byte and a FIN —
 * while any other reset code is still an abort.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { splice, type SpliceResult } from '../../src/net/splice.js';

interface Outcome {
  readonly result: SpliceResult;
  /** What the TCP peer received, and whether it saw a clean end (FIN) rather than a reset. */
  readonly received: string;
  readonly cleanEnd: boolean;
}

describe('splice: HTTP/2 stream closes', () => {
  let tcp: net.Server;
  let h2: http2.Http2Server;
  let tcpPeer: Promise<{ received: string; cleanEnd: boolean }>;
  let onStream: (s: http2.ServerHttp2Stream) => void = () => undefined;

  before(async () => {
    h2 = http2.createServer();
    h2.on('stream', (s) => onStream(s));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((r) => h2.close(r));
    await new Promise((r) => tcp.close(r));
  });

  /** The client sends `payload`, ends its side, then closes the stream with `code`. */
  async function run(code: number): Promise<Outcome> {
    tcpPeer = new Promise((resolve) => {
      tcp.once('connection', (sock: net.Socket) => {
        let received = '';
        let cleanEnd = false;
        sock.setEncoding('utf8');
        sock.on('data', (c: string) => (received += c));
        sock.on('end', () => {
          cleanEnd = true;
          sock.end();
        });
        sock.on('error', () => undefined);
        sock.on('close', () => resolve({ received, cleanEnd }));
      });
    });
    const spliced = new Promise<SpliceResult>((resolve) => {
      onStream = (stream) => {
        stream.respond({ ':status': 200 });
        const sock = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1', () => void splice(stream, sock).then(resolve));
      };
    });
    const session = http2.connect(`http://127.0.0.1:${(h2.address() as net.AddressInfo).port}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/' });
      await new Promise<void>((resolve) => req.on('response', () => resolve()));
      req.end('hello');
      // Wait until our END_STREAM went out, then reset with `code`.
      await new Promise<void>((resolve) => req.on('finish', () => resolve()));
      req.close(code);
      const result = await spliced;
      const peer = await tcpPeer;
      return { result, ...peer };
    } finally {
      session.destroy();
    }
  }

  it('END_STREAM then RST_STREAM(NO_ERROR) is a normal close', async () => {
    const o = await run(http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(o.result.error, undefined, `unexpected error: ${o.result.error?.message}`);
    assert.equal(o.received, 'hello');
    assert.equal(o.cleanEnd, true);
    assert.equal(o.result.aToB, 5);
  });

  it('any other reset code is still an abort', async () => {
    const o = await run(http2.constants.NGHTTP2_CANCEL);
    assert.ok(o.result.error, 'a CANCEL is reported');
  });
});
