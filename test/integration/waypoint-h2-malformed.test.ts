/**
 * Inner HTTP/2 requests with a malformed field (RFC 9113 §8.2.1: CR, LF or NUL in a value, a
 * name that is not a lowercase token, whitespace at a value's edge) are reset with
 * PROTOCOL_ERROR, never served without the field (issue 17). Raw frames go through a real HBONE
 * tunnel to the waypoint, so nothing between the test and the waypoint's codec can clean them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { FLAG, FRAME, headerBlock, RawH2 } from '../helpers/h2-frames.js';
import { service } from '../helpers/mesh-builders.js';
import { WaypointHarness } from './waypoint-harness.js';
import { countFields } from '../../src/waypoint/h2-field-count.js';

const PROTOCOL_ERROR = 1;

describe('waypoint: malformed inner HTTP/2 fields reset the stream', () => {
  let h: WaypointHarness;
  let authority = '';

  before(async () => {
    h = await WaypointHarness.start([{ name: 'echo-1', n: 1, app: 'http', labels: { app: 'echo' } }], (b) => [
      service({ name: 'echo', vips: [b.vip(1)], ports: [{ port: 81, targetPort: 'app', appProtocol: 'http2' }], waypoint: 'waypoint' }),
    ]);
    authority = `${h.block.vip(1)}:81`;
  });

  after(async () => {
    await h.close();
  });

  const request = (path: string, extra: ReadonlyArray<readonly [string, string]> = [], method = 'GET'): Buffer =>
    headerBlock([[':method', method], [':scheme', 'http'], [':path', path], [':authority', 'echo:81'], ...extra]);

  const answered = (c: RawH2, stream: number): boolean => c.frames.some((f) => f.type === FRAME.HEADERS && f.stream === stream);

  const malformed: ReadonlyArray<readonly [string, readonly [string, string]]> = [
    ['CR LF in a value', ['x-a', 'one\r\nx-injected: two']],
    ['LF in a value', ['x-a', 'one\ntwo']],
    ['NUL in a value', ['x-a', 'one\0two']],
    ['a space in a name', ['x a', 'v']],
    ['a separator in a name', ['x@a', 'v']],
    ['leading whitespace in a value', ['x-a', ' v']],
  ];

  it('each malformed request is reset; a good one on the same connection is served', async () => {
    const c = RawH2.over(await h.tunnel(authority));
    try {
      let id = 1;
      const bad: number[] = [];
      for (const [, field] of malformed) {
        c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, request(`/bad-${id}`, [field]));
        bad.push(id);
        id += 2;
      }
      const good = id;
      c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, good, request('/good', [['x-a', 'fine']]));
      await eventually(() => answered(c, good) && bad.every((s) => c.resetCode(s) !== undefined), 10_000);
      malformed.forEach(([what], i) => {
        const s = bad[i] as number;
        assert.equal(c.resetCode(s), PROTOCOL_ERROR, `${what}: RST_STREAM(PROTOCOL_ERROR)`);
        assert.equal(answered(c, s), false, `${what}: never answered`);
      });
      assert.equal(c.resetCode(good), undefined);
      await eventually(() => h.records.some((r) => r.path === '/good'));
      assert.deepEqual(
        h.records.filter((r) => r.path?.startsWith('/bad-')).map((r) => r.path),
        [],
        'no malformed request was served',
      );
    } finally {
      c.close();
    }
  });

  it('malformed request trailers reset the stream; the upstream never gets a complete request', async () => {
    const c = RawH2.over(await h.tunnel(authority));
    try {
      c.send(FRAME.HEADERS, FLAG.END_HEADERS, 1, request('/trailers', [['content-type', 'text/plain']], 'POST'));
      c.send(FRAME.DATA, 0, 1, Buffer.from('body'));
      c.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, headerBlock([['x-t', 'ok'], ['x-bad', 'a\nb']]));
      await eventually(() => c.resetCode(1) !== undefined, 10_000);
      assert.equal(c.resetCode(1), PROTOCOL_ERROR);
      assert.equal(answered(c, 1), false);
    } finally {
      c.close();
    }
  });

  it('counts every kind of HPACK field representation (RFC 7541 §6, Appendix C)', () => {
    // C.3.1: indexed :method GET, :scheme http, :path /, literal with indexing :authority.
    assert.equal(countFields(Buffer.from('828684410f7777772e6578616d706c652e636f6d', 'hex')), 4);
    // C.4.3 (Huffman): five fields, the last a literal with a new name.
    assert.equal(countFields(Buffer.from('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf', 'hex')), 5);
    // A table size update is no field; never-indexed and without-indexing literals are.
    assert.equal(countFields(Buffer.concat([Buffer.from([0x3f, 0xe1, 0x1f]), headerBlock([['a', 'b']]), Buffer.from([0x10, 1, 0x61, 1, 0x62])])), 2);
    // Truncated: not countable.
    assert.equal(countFields(Buffer.from([0x00, 0x05, 0x61])), -1);
  });
});
