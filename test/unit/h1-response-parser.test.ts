/**
 * The upstream HTTP/1.1 response parser: framing (Content-Length, chunked with extensions and
 * trailers, read-until-close, bodyless responses), 1xx, keep-alive, each defect with its stable
 * code, pause/resume, and a property test: 3,000 seeded random responses parse the same whole
 * or split at random points, and random mutations either parse or fail with an UpstreamH1Error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamH1Error } from '../../src/upstream/h1/h1-error.js';
import { H1ResponseParser } from '../../src/upstream/h1/h1-response-parser.js';
import type { H1ResponseHandler } from '../../src/upstream/h1/h1-response-parser.js';
import { seededRandom } from '../helpers/seeded-random.js';

interface Parsed {
  heads: { status: number; headers: string[] }[];
  body: Buffer;
  trailers: string[] | null | undefined;
  /** Offset in the last fed buffer where the parser stopped after the end. */
  stoppedAt: number;
  keepAlive: boolean;
  keepAliveHintMs: number | undefined;
}

class Collector implements H1ResponseHandler {
  heads: { status: number; headers: string[] }[] = [];
  chunks: Buffer[] = [];
  trailers: string[] | null | undefined;
  pauseOnHead = false;
  pauseOnBody = false;
  onResponseHead(status: number, headers: string[]): boolean {
    this.heads.push({ status, headers });
    return !this.pauseOnHead;
  }
  onResponseBody(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return !this.pauseOnBody;
  }
  onResponseEnd(trailers: string[] | null): void {
    this.trailers = trailers;
  }
}

function parse(parts: (string | Buffer)[], opts: { head?: boolean; eof?: boolean; max?: number } = {}): Parsed {
  const c = new Collector();
  const p = new H1ResponseParser(c, opts.max ?? 16 * 1024);
  p.reset(opts.head ?? false);
  let stoppedAt = -1;
  for (const part of parts) {
    const buf = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    stoppedAt = p.execute(buf, 0);
    if (p.done) break;
  }
  if (!p.done && opts.eof) p.finishAtEof();
  return { heads: c.heads, body: Buffer.concat(c.chunks), trailers: c.trailers, stoppedAt, keepAlive: p.keepAlive, keepAliveHintMs: p.keepAliveHintMs };
}

function rejects(parts: string[], code: string, opts: { head?: boolean; eof?: boolean; max?: number } = {}): void {
  assert.throws(
    () => parse(parts, opts),
    (err: unknown) => err instanceof UpstreamH1Error && err.code === code,
    `expected ${code} for ${JSON.stringify(parts)}`,
  );
}

describe('h1 response parser', () => {
  it('parses a Content-Length response and stops right after it', () => {
    const r = parse(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\nhelloEXTRA']);
    assert.deepEqual(r.heads, [{ status: 200, headers: ['Content-Length', '5', 'X-A', 'b'] }]);
    assert.equal(r.body.toString(), 'hello');
    assert.equal(r.trailers, null);
    assert.equal(r.stoppedAt, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b \r\n\r\nhello'.length);
    assert.equal(r.keepAlive, true);
  });

  it('parses chunked bodies with extensions and trailers', () => {
    const r = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1;q="x"\r\nhello\r\nA\r\n0123456789\r\n0\r\nGrpc-Status: 0\r\nX-T: v\r\n\r\n']);
    assert.equal(r.body.toString(), 'hello0123456789');
    assert.deepEqual(r.trailers, ['Grpc-Status', '0', 'X-T', 'v']);
  });

  it('chunked without trailers ends with null trailers', () => {
    assert.equal(parse(['HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n']).trailers, null);
  });

  it('reads until close when there is no framing, and is not reusable', () => {
    const r = parse(['HTTP/1.1 200 OK\r\n\r\nsome', ' more'], { eof: true });
    assert.equal(r.body.toString(), 'some more');
    assert.equal(r.trailers, null);
    assert.equal(r.keepAlive, false);
    // A non-chunked transfer coding also runs until close.
    assert.equal(parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz'], { eof: true }).body.toString(), 'zz');
  });

  it('has no body for HEAD, 204 and 304 whatever the framing says', () => {
    for (const [head, status] of [
      [true, 200],
      [false, 204],
      [false, 304],
    ] as const) {
      const r = parse([`HTTP/1.1 ${status} X\r\nContent-Length: 10\r\n\r\n`], { head });
      assert.equal(r.trailers, null, `status ${status}`);
      assert.equal(r.body.length, 0);
    }
  });

  it('reports 1xx heads and goes on to the final response', () => {
    const r = parse(['HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n']);
    assert.deepEqual(
      r.heads.map((h) => h.status),
      [103, 100, 201],
    );
    assert.equal(r.trailers, null);
  });

  it('keep-alive: HTTP/1.1 unless close, HTTP/1.0 only with keep-alive; the Keep-Alive hint', () => {
    assert.equal(parse(['HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n']).keepAlive, false);
    assert.equal(parse(['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n']).keepAlive, false);
    const r = parse(['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n']);
    assert.equal(r.keepAlive, true);
    assert.equal(r.keepAliveHintMs, 5000);
  });

  it('joins obs-fold continuation lines with one space', () => {
    const r = parse(['HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\n\tc\r\nContent-Length: 0\r\n\r\n']);
    assert.deepEqual(r.heads[0]?.headers, ['X-Long', 'a b c', 'Content-Length', '0']);
  });

  it('accepts an empty reason phrase and identical duplicate Content-Length', () => {
    assert.equal(parse(['HTTP/1.1 200\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok']).body.toString(), 'ok');
  });

  it('rejects each defect with a stable code', () => {
    const bad: [string[], string][] = [
      [['HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\n\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/2.0 200 OK\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 20 OK\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 2000 OK\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 099 OK\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 O\x01K\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 101 Switching Protocols\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nName : x\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\n: x\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nNoColon\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\n folded-first\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZ\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x00\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFF\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
      [['garbage\r\n\r\n'], 'H1_MALFORMED_RESPONSE'],
    ];
    for (const [parts, code] of bad) rejects(parts, code);
  });

  it('refuses a head (or trailers) larger than the limit, complete or not', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300)}\r\n\r\n`;
    rejects([big], 'H1_HEADERS_TOO_LARGE', { max: 256 });
    rejects([big.slice(0, 280)], 'H1_HEADERS_TOO_LARGE', { max: 256 });
    rejects(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n', `X: ${'b'.repeat(300)}`], 'H1_HEADERS_TOO_LARGE', { max: 256 });
    assert.equal(parse([big], { max: 400 }).heads[0]?.status, 200);
  });

  it('a response cut short fails at EOF with H1_CONNECTION_CLOSED', () => {
    rejects(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'], 'H1_CONNECTION_CLOSED', { eof: true });
    rejects(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'], 'H1_CONNECTION_CLOSED', { eof: true });
    rejects(['HTTP/1.1 200 OK\r\nContent-'], 'H1_CONNECTION_CLOSED', { eof: true });
  });

  it('pauses after a head or a body slice and resumes where it stopped', () => {
    const c = new Collector();
    const p = new H1ResponseParser(c, 16 * 1024);
    p.reset(false);
    c.pauseOnHead = true;
    const buf = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef');
    const at = p.execute(buf, 0);
    assert.equal(p.isPaused, true);
    assert.equal(at, buf.length - 6);
    assert.equal(c.chunks.length, 0);
    c.pauseOnHead = false;
    c.pauseOnBody = true;
    p.resume();
    assert.equal(p.execute(buf, at), buf.length);
    assert.equal(Buffer.concat(c.chunks).toString(), 'abcdef');
    // Paused on the last body byte: the end comes with the resume.
    assert.equal(c.trailers, undefined);
    p.resume();
    p.execute(Buffer.alloc(0), 0);
    assert.equal(c.trailers, null);
    assert.equal(p.done, true);
  });

  it('property: 3,000 random responses parse alike whole or split; mutations never crash', () => {
    const rand = seededRandom(0x48315250);
    const int = (n: number): number => Math.floor(rand() * n);
    const token = (): string => 'x-' + rand().toString(36).slice(2, 2 + 1 + int(8));
    for (let n = 0; n < 3000; n++) {
      const headers: string[] = [];
      for (let i = int(6); i > 0; i--) headers.push(token(), 'v' + 'a'.repeat(int(20)));
      const body = Buffer.alloc(int(300), int(256));
      const chunked = rand() < 0.5;
      const trailers: string[] = [];
      let wire = `HTTP/1.1 ${200 + int(300)} R\r\n`;
      for (let i = 0; i < headers.length; i += 2) wire += `${headers[i]}: ${headers[i + 1]}\r\n`;
      let payload: Buffer;
      if (chunked) {
        wire += 'Transfer-Encoding: chunked\r\n\r\n';
        const parts: Buffer[] = [];
        for (let off = 0; off < body.length; ) {
          const len = Math.min(body.length - off, 1 + int(80));
          parts.push(Buffer.from(`${len.toString(16)}${rand() < 0.2 ? ';e=1' : ''}\r\n`), body.subarray(off, off + len), Buffer.from('\r\n'));
          off += len;
        }
        for (let i = int(3); i > 0; i--) trailers.push(token(), 't');
        let tail = '0\r\n';
        for (let i = 0; i < trailers.length; i += 2) tail += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
        parts.push(Buffer.from(tail + '\r\n'));
        payload = Buffer.concat(parts);
      } else {
        wire += `Content-Length: ${body.length}\r\n\r\n`;
        payload = body;
      }
      const full = Buffer.concat([Buffer.from(wire, 'latin1'), payload]);
      const status = Number(wire.slice(9, 12));
      const bodyless = status === 204 || status === 304;
      const whole = parse([full]);
      assert.equal(whole.heads[0]?.status, status);
      assert.deepEqual(whole.body, bodyless ? Buffer.alloc(0) : body);
      if (!bodyless) assert.deepEqual(whole.trailers, trailers.length > 0 ? trailers : null);
      // Split at random points: same result.
      const cuts = [...new Set([int(full.length), int(full.length), int(full.length)])].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let prev = 0;
      for (const cut of cuts) {
        pieces.push(full.subarray(prev, cut));
        prev = cut;
      }
      pieces.push(full.subarray(prev));
      const split = parse(pieces);
      assert.deepEqual(split.body, whole.body);
      assert.deepEqual(split.heads, whole.heads);
      assert.deepEqual(split.trailers, whole.trailers);
      // Mutate a few bytes: parses, waits for more, or fails with a stable code; never anything else.
      const mutated = Buffer.from(full);
      for (let i = 1 + int(3); i > 0; i--) mutated[int(mutated.length)] = int(256);
      try {
        parse([mutated], { eof: rand() < 0.5 });
      } catch (err) {
        assert.ok(err instanceof UpstreamH1Error, `unexpected ${String(err)}`);
      }
    }
  });
});
