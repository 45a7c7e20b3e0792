/**
 * The ztunnel's fixed-destination outbound listener (`--outbound-fixed`): a plain HTTP client (no
 * SOCKS5, as wrk or h2load) connects to a local port and its bytes go where a connection captured
 * from the named pod to the named destination would: through the waypoint for a Service that has
 * one, straight to the destination ztunnel otherwise. Failures reach the client as a reset.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { FixedOutboundSpec } from '../../src/ztunnel/fixed-outbound.js';
import { parseFixedOutbound } from '../../src/ztunnel/fixed-outbound.js';
import { Ztunnel } from '../../src/ztunnel/ztunnel.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const SLEEP_ID = 'spiffe://cluster.local/ns/default/sa/sleep';

function get(address: string, path: string, agent: http.Agent): Promise<{ status: number; report: EchoReport }> {
  const [host = '', port = ''] = address.split(/:(?=\d+$)/);
  return new Promise((resolve, reject) => {
    http
      .get({ host, port: Number(port), path, headers: { host: 'bench.test' }, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, report: JSON.parse(body) as EchoReport }));
      })
      .on('error', reject);
  });
}

describe('ztunnel fixed-destination outbound listener', () => {
  let mesh: LocalMesh;
  let ztunnel: Ztunnel;
  let viaWaypoint = '';
  let direct = '';
  let unknown = '';

  before(async () => {
    // node-a's ztunnel is ours, with the fixed listeners; the rest of the mesh is the usual one.
    mesh = await startLocalMesh({ skipNodes: ['node-a'] });
    const sleep = mesh.pod('default', 'sleep');
    const spec = (text: string): FixedOutboundSpec => {
      const r = parseFixedOutbound(text);
      assert.ok(r.ok, r.ok ? '' : r.message);
      return r.value;
    };
    ztunnel = new Ztunnel({
      node: 'node-a',
      view: mesh.store,
      certs: mesh.certs,
      onError: () => undefined,
      fixedOutbound: [
        spec(`${sleep.ip}:0=default/sleep->reviews:9080`),
        spec(`${sleep.ip}:0=${sleep.ip}->ratings:9080`),
        spec(`${sleep.ip}:0=default/sleep->no-such-service:9080`),
      ],
    });
    await ztunnel.start();
    [viaWaypoint = '', direct = '', unknown = ''] = ztunnel.fixedOutboundAddresses();
  });

  after(async () => {
    await ztunnel?.close(500);
    await mesh?.close();
  });

  it('carries plain HTTP through the waypoint, as the named pod', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Several requests on one keep-alive connection: the listener is a byte pipe, not per request.
      for (let i = 0; i < 3; i++) {
        const { status, report } = await get(viaWaypoint, `/n${i}`, agent);
        assert.equal(status, 200);
        assert.match(report.pod, /^default\/reviews-v[12]$/);
        assert.equal(report.path, `/n${i}`);
        assert.equal(report.peer.identity, WAYPOINT_ID);
      }
    } finally {
      agent.destroy();
    }
  });

  it('goes straight to the destination ztunnel for a Service without waypoint', async () => {
    const agent = new http.Agent({ keepAlive: false });
    const { status, report } = await get(direct, '/', agent);
    assert.equal(status, 200);
    assert.equal(report.pod, 'default/ratings-v1');
    assert.equal(report.peer.identity, SLEEP_ID);
  });

  it('resets the connection when the destination cannot be resolved', async () => {
    const [host = '', port = ''] = unknown.split(/:(?=\d+$)/);
    const outcome = await new Promise<string>((resolve) => {
      const s = net.connect({ host, port: Number(port) }, () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      s.on('close', () => resolve(got === '' ? 'closed-empty' : got));
    });
    assert.ok(outcome === 'ECONNRESET' || outcome === 'closed-empty', `got ${outcome}`);
  });

  it('rejects malformed specs with a message naming the flag', () => {
    for (const bad of ['', 'nope', '127.0.0.1:80=default/sleep', 'localhost:80=default/sleep->reviews:9080', '127.0.0.1:80=sleep->reviews:9080', '127.0.0.1:80=default/sleep->reviews:0']) {
      const r = parseFixedOutbound(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.message, /^--outbound-fixed /);
    }
    const good = parseFixedOutbound('127.0.0.1:18080=default/sleep->reviews.default.svc.cluster.local:9080');
    assert.deepEqual(good, { ok: true, value: { listenHost: '127.0.0.1', listenPort: 18080, source: 'default/sleep', host: 'reviews.default.svc.cluster.local', port: 9080 } });
  });
});
