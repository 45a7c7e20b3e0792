/**
 * HTTP/2 abuse against the HBONE server over real mTLS (issue 11 §3): more streams than
 * advertised, rapid reset, CONTINUATION floods, SETTINGS and PING floods from a peer that does
 * not read, and flow-control window overflow. Each is bounded: the abusive connection is refused
 * streams or closed, the handler sees at most what the limits allow, and the server keeps
 * serving a well-behaved client afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { HboneServer } from '../../src/hbone/server.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { connectHeaders, FLAG, FRAME, headerBlock, RawH2, settingsPayload, u32 } from '../helpers/h2-frames.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const host = block.pod(1);
const PORT = 15008;

describe('hardening: HTTP/2 abuse on the HBONE server is bounded', () => {
  let ca: TestCa;
  let server: HboneServer;
  let client: TlsMaterial;
  let handled = 0;

  before(async () => {
    ca = await createTestCa();
    client = await ca.issue(ca.id('default', 'client'));
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: () => ca.id('default', 'server'),
      handler: (c) => {
        handled++;
        const s = c.accept();
        s.on('error', () => undefined);
        s.pipe(s);
      },
      onError: () => undefined,
    });
    await server.addListener(host, PORT);
  });

  after(async () => {
    await server.close(100);
    ca.close();
  });

  const raw = (): Promise<RawH2> => RawH2.connect(host, PORT, client, ca.rootsPem);

  /** A fresh, well-behaved CONNECT still gets its 200. */
  async function stillServes(): Promise<void> {
    const c = await raw();
    try {
      c.send(FRAME.HEADERS, FLAG.END_HEADERS, 1, connectHeaders('127.0.0.1:80'));
      await eventually(() => c.frames.some((f) => f.type === FRAME.HEADERS && f.stream === 1), 5000);
    } finally {
      c.close();
    }
  }

  /** Closed by the server, or told to go away, within the bound. */
  async function cutOff(c: RawH2, ms = 10_000): Promise<void> {
    await eventually(() => !c.isOpen || c.goawayCode() !== undefined, ms);
  }

  it('streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (100) are refused, not handled', async () => {
    const c = await raw();
    const before = handled;
    for (let i = 0; i < 150; i++) c.send(FRAME.HEADERS, FLAG.END_HEADERS, 1 + 2 * i, connectHeaders('127.0.0.1:80'));
    await eventually(() => c.count(FRAME.HEADERS) + c.count(FRAME.RST_STREAM) >= 150 || !c.isOpen || c.goawayCode() !== undefined, 10_000);
    assert.ok(handled - before <= 100, `handled ${handled - before}`);
    assert.ok(c.count(FRAME.HEADERS) <= 100);
    c.close();
    await stillServes();
  });

  it('rapid reset (HEADERS + RST_STREAM, thousands) is cut off', async () => {
    const c = await raw();
    const before = handled;
    let sent = 0;
    for (let i = 0; i < 20_000 && c.isOpen; i++) {
      const id = 1 + 2 * i;
      c.send(FRAME.HEADERS, FLAG.END_HEADERS, id, connectHeaders('127.0.0.1:80'));
      c.send(FRAME.RST_STREAM, 0, id, u32(8 /* CANCEL */));
      sent++;
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await cutOff(c);
    assert.ok(handled - before < sent, `handled ${handled - before} of ${sent}`);
    c.close();
    await stillServes();
  });

  it('a CONTINUATION flood (a header block that never ends) is cut off', async () => {
    const c = await raw();
    const part = headerBlock([[':method', 'CONNECT']]);
    c.send(FRAME.HEADERS, 0, 1, part);
    const filler = headerBlock([['x-flood', 'a'.repeat(16)]]);
    for (let i = 0; i < 50_000 && c.isOpen; i++) {
      c.send(FRAME.CONTINUATION, 0, 1, filler);
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    await cutOff(c);
    c.close();
    await stillServes();
  });

  for (const kind of ['SETTINGS', 'PING'] as const) {
    it(`a ${kind} flood from a peer that never reads is cut off`, async () => {
      const c = await raw();
      c.socket.pause();
      const one = kind === 'SETTINGS' ? { type: FRAME.SETTINGS, payload: settingsPayload([[3, 100]]) } : { type: FRAME.PING, payload: Buffer.alloc(8) };
      for (let i = 0; i < 200_000 && c.isOpen; i++) {
        c.send(one.type, 0, 0, one.payload);
        if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
      }
      c.socket.resume();
      await cutOff(c, 15_000);
      c.close();
      await stillServes();
    });
  }

  it('a WINDOW_UPDATE that overflows the connection window ends the connection with an error', async () => {
    const c = await raw();
    c.send(FRAME.WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
    c.send(FRAME.WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
    await cutOff(c);
    const code = c.goawayCode();
    // nghttp2 reports FLOW_CONTROL_ERROR (3); Node's session answers INTERNAL_ERROR (2) when it tears down first.
    if (code !== undefined) assert.notEqual(code, 0);
    c.close();
    await stillServes();
  });
});
