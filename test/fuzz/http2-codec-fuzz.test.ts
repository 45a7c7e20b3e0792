/**
 * Short fuzz run of the own HTTP/2 server codec (src/http2/): mutated byte streams of valid client
 * connections (preface, SETTINGS, HEADERS with and without CONTINUATION, DATA, trailers, PING,
 * WINDOW_UPDATE, RST_STREAM), sent in random chunkings to the codec on a loopback socket.
 * Properties: nothing throws (an exception would surface as an uncaught error and fail the run),
 * every answer parses as a sequence of frames, a connection the codec gives up on ends with a
 * GOAWAY, and a well-formed client is still served afterwards.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCodecServer, type CodecServer } from '../helpers/h2-codec-server.js';
import { FLAG, FRAME, frame, headerBlock, settingsPayload, u32 } from '../helpers/h2-frames.js';
import { Mutator } from './mutator.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const head = (method: string, path: string, extra: ReadonlyArray<readonly [string, string]> = []): Buffer =>
  headerBlock([[':method', method], [':scheme', 'http'], [':path', path], [':authority', 'svc:80'], ...extra]);

const SEEDS: readonly Buffer[] = [
  Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, settingsPayload([[4, 100], [5, 20_000]])), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, head('GET', '/a'))]),
  Buffer.concat([
    PREFACE,
    frame(FRAME.SETTINGS, 0, 0),
    frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, head('POST', '/b', [['content-length', '5']])),
    frame(FRAME.DATA, 0, 1, Buffer.from('hel')),
    frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from('lo')),
    frame(FRAME.PING, 0, 0, Buffer.alloc(8)),
  ]),
  Buffer.concat([
    PREFACE,
    frame(FRAME.SETTINGS, 0, 0),
    frame(FRAME.HEADERS, 0, 3, head('POST', '/c').subarray(0, 10)),
    frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 3, head('POST', '/c').subarray(10)),
    frame(FRAME.WINDOW_UPDATE, 0, 0, u32(1000)),
    frame(FRAME.DATA, 0, 3, Buffer.from('body')),
    frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, headerBlock([['grpc-status', '0']])),
    frame(FRAME.HEADERS, FLAG.END_HEADERS, 5, head('GET', '/d')),
    frame(FRAME.RST_STREAM, 0, 5, u32(8)),
  ]),
];

describe('fuzz (short): the own HTTP/2 server codec', () => {
  let server: CodecServer;
  let port = 0;

  before(async () => {
    server = await startCodecServer({ maxConcurrentStreams: 8 }, 'ok');
    port = server.port;
  });

  after(() => server.close());

  /** Sends `chunks`, half-closes, and collects what comes back (bounded in time). */
  async function exchange(chunks: readonly Buffer[], ms = 1500): Promise<Buffer> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    for (const c of chunks) socket.write(c);
    socket.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, ms).unref())]);
    socket.destroy();
    return Buffer.concat(got);
  }

  /** The frame types in `bytes`, or undefined when they do not parse as whole frames. */
  function frameTypes(bytes: Buffer): number[] | undefined {
    const types: number[] = [];
    let i = 0;
    while (i + 9 <= bytes.length) {
      const len = bytes.readUIntBE(i, 3);
      types.push(bytes[i + 3] as number);
      i += 9 + len;
    }
    return i === bytes.length ? types : undefined;
  }

  it('300 mutated connections: frames or a GOAWAY, never a crash; a good client is served after', async () => {
    const m = new Mutator(11);
    const problems: string[] = [];
    let answered = 0;
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const input = m.mutate(m.pick(SEEDS));
      const out = await exchange(m.chunks(input), 400);
      const types = frameTypes(out);
      if (types === undefined) problems.push(`case ${i}: unparseable answer ${out.subarray(0, 32).toString('hex')}`);
      if (types?.includes(FRAME.HEADERS)) answered++;
      if (types?.includes(FRAME.GOAWAY)) refused++;
    }
    assert.deepEqual(problems.slice(0, 3), []);
    // The mutations exercise both sides: some requests survive them, some connections are refused.
    assert.ok(answered > 10 && refused > 10, `answered ${answered}, refused ${refused}`);
    const good = await exchange([SEEDS[0] as Buffer]);
    assert.ok(frameTypes(good)?.includes(FRAME.HEADERS), 'a well-formed request is still answered');
  });
});
