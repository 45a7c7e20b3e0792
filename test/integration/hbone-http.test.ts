/**
 * HTTP/1.1 carried inside HBONE tunnels, and the Node 20 HTTP/2 pitfalls of perf-baseline.md that
 * bite there: corked writes with an empty chunk (1), http.Agent over a stream (2), a server that
 * ends first (6), and aborts that must not look like clean ends (5, 9).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneConnect, HboneDialResult } from '../../src/hbone/types.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { allocateBlock } from '../helpers/addresses.js';
import { mustTunnel as must } from '../helpers/hbone-tunnel.js';
import { eventually } from '../helpers/eventually.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

const block = allocateBlock();
const pod = block.pod(1);

interface ServerSide {
  received: number;
  ended: boolean;
  closedCleanly?: boolean;
  error?: string;
}

describe('hbone carrying http', () => {
  let ca: TestCa;
  let server: HboneServer;
  let pool: HbonePool;
  let client: TlsMaterial;
  const sides: ServerSide[] = [];
  const inner = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      // res.end(data) after headers: Node corks and its batch ends with an empty chunk (pitfall 1).
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });

  before(async () => {
    ca = await createTestCa();
    server = new HboneServer({
      certSource: ca.certSource,
      identityFor: () => ca.id('srv', 'srv'),
      handler: (c: HboneConnect) => {
        const port = c.authority.port;
        const s = c.accept();
        if (port === 80) {
          inner.emit('connection', s);
          return;
        }
        const side: ServerSide = { received: 0, ended: false };
        sides.push(side);
        const observe = (): void => {
          s.on('data', (d: Buffer) => (side.received += d.length));
          s.on('end', () => (side.ended = true));
          s.on('error', (e: Error) => (side.error = e.message));
          s.on('close', () => (side.closedCleanly = side.ended && !side.error));
        };
        if (port === 6 || port === 9) {
          // Ends its side at once and starts reading only later (pitfall 6).
          s.end('bye', () => setTimeout(observe, 30));
          return;
        }
        observe();
      },
    });
    await server.addListener(pod, 15008);
    pool = new HbonePool({ trust: ca.certSource });
    client = await ca.issue(ca.id('c', 'c'));
  });

  after(async () => {
    await pool.close(100);
    await server.close(100);
    inner.close();
    ca.close();
  });

  const dial = (port: number): Promise<HboneDialResult> =>
    pool.dial({ source: client, expectedIdentities: [ca.id('srv', 'srv')], address: pod, port: 15008, authority: `${pod}:${port}` });

  it('http.Agent (keep-alive) over one tunnel: exact responses, several requests', async () => {
    const tunnel = must(await dial(80));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let created = 0;
    // The agent asks for a socket once; every request then reuses the tunnel.
    agent.createConnection = () => {
      created++;
      return tunnel;
    };
    try {
      for (let i = 0; i < 3; i++) {
        const text = await new Promise<string>((resolve, reject) => {
          const req = http.request({ agent, host: 'svc.local', path: `/r/${i}`, method: 'POST' }, (res) => {
            let b = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (b += d));
            res.on('end', () => resolve(b));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(`payload-${i}`);
        });
        assert.deepEqual(JSON.parse(text), { method: 'POST', url: `/r/${i}`, body: `payload-${i}` });
      }
      assert.equal(created, 1);
    } finally {
      agent.destroy();
    }
  });

  it('raw HTTP/1.1 bytes through the tunnel come back byte-exact', async () => {
    const tunnel = must(await dial(80));
    const got = new Promise<string>((resolve) => {
      let b = '';
      tunnel.on('data', (d: Buffer) => {
        b += d.toString('latin1');
        if (b.includes('}')) resolve(b);
      });
    });
    tunnel.write('GET /exact HTTP/1.1\r\nhost: x\r\n\r\n');
    const text = await got;
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(JSON.parse(body), { method: 'GET', url: '/exact', body: '' });
    tunnel.destroy();
  });

  it('a server that ends first still receives the whole upload', async () => {
    const tunnel = must(await dial(6));
    let reply = '';
    tunnel.on('data', (d: Buffer) => (reply += d.toString()));
    const ended = new Promise<void>((resolve) => tunnel.once('end', resolve));
    const upload = Buffer.alloc(1024 * 1024, 1);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    tunnel.end(upload);
    await ended;
    assert.equal(reply, 'bye');
    const side = sides.at(-1);
    await eventually(() => assert.equal(side?.ended, true));
    assert.equal(side?.received, upload.length);
    assert.equal(side?.error, undefined);
  });

  it('a client destroy() without an error reaches the server as a reset, not a clean end', async () => {
    const tunnel = must(await dial(7));
    tunnel.write('partial');
    const side = await eventually(() => {
      const s = sides.at(-1);
      assert.ok(s && s.received === 7);
      return s;
    });
    tunnel.destroy();
    await eventually(() => assert.equal(side.closedCleanly, false));
    assert.equal(side.ended, false);
  });

  it('a client destroy() after the server ended its side is still a reset at the server', async () => {
    const tunnel = must(await dial(9));
    tunnel.resume();
    await new Promise<void>((resolve) => tunnel.once('end', resolve));
    tunnel.write('partial');
    const side = await eventually(() => {
      const s = sides.at(-1);
      assert.ok(s && s.received === 7);
      return s;
    });
    tunnel.destroy();
    await eventually(() => assert.equal(side.closedCleanly, false));
    assert.equal(side.ended, false);
  });

  it('a client destroy(err) reaches the server as a reset too', async () => {
    const tunnel = must(await dial(8));
    tunnel.on('error', () => undefined);
    tunnel.write('partial');
    const side = await eventually(() => {
      const s = sides.at(-1);
      assert.ok(s && s.received === 7);
      return s;
    });
    tunnel.destroy(new Error('client gave up'));
    await eventually(() => assert.equal(side.closedCleanly, false));
    assert.equal(side.ended, false);
  });
});
