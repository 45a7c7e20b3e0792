/**
 * HTTP through a real waypoint: test client ══HBONE══► waypoint ══HBONE══► fake ztunnel → echo.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { service } from '../helpers/mesh-builders.js';
import { WAYPOINT_SA, WaypointHarness } from './waypoint-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('waypoint: HTTP', () => {
  let h: WaypointHarness;
  let vipEcho = '';
  let vipEmpty = '';
  let vipOther = '';

  before(async () => {
    h = await WaypointHarness.start(
      [
        { name: 'echo-1', n: 1, app: 'http', labels: { app: 'echo' } },
        { name: 'echo-2', n: 2, app: 'http', labels: { app: 'echo' } },
      ],
      (b) => [
        service({ name: 'echo', vips: [b.vip(1)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }, { port: 81, targetPort: 'app', appProtocol: 'http2' }], waypoint: 'waypoint' }),
        service({ name: 'empty', vips: [b.vip(2)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }], selector: { app: 'nobody' }, waypoint: 'waypoint' }),
        // Exists, but is served by another waypoint.
        service({ name: 'other', vips: [b.vip(3)], ports: [{ port: 80, appProtocol: 'http' }], waypoint: 'elsewhere' }),
      ],
    );
    vipEcho = h.block.vip(1);
    vipEmpty = h.block.vip(2);
    vipOther = h.block.vip(3);
  });

  after(async () => {
    await h.close();
  });

  it('forwards HTTP/1.1 over HBONE with the waypoint identity and podIP:targetPort authority', async () => {
    const client = await h.httpClient(`${vipEcho}:80`);
    try {
      const before = h.seen.length;
      const r = await client.request({ method: 'GET', path: '/hello?a=b', headers: { host: 'echo.default.svc.cluster.local', 'x-test': '1' } });
      const text = await r.body.text();
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['server'], 'istio-envoy');
      assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
      const seen = JSON.parse(text) as EchoReport;
      assert.equal(seen.path, '/hello?a=b');
      assert.equal(seen.method, 'GET');
      assert.equal(seen.authority, 'echo.default.svc.cluster.local');
      assert.equal(seen.headers['x-test'], '1');
      assert.match(String(seen.headers['x-request-id']), UUID);
      assert.equal(seen.headers['x-envoy-attempt-count'], '1');
      // The destination ztunnel saw the waypoint, not the client.
      const connect = h.seen[before];
      assert.ok(connect, 'destination saw a CONNECT');
      assert.equal(connect.peerIdentity, h.ca.id('default', WAYPOINT_SA));
      assert.equal(connect.peerAddress, h.block.waypoint(1));
      const podIp = seen.pod === 'default/echo-1' ? h.block.pod(1) : h.block.pod(2);
      assert.equal(connect.authority, `${podIp}:${seen.local.port}`);
      assert.equal(connect.localAddress, podIp);
      await eventually(() => h.records.some((rec) => rec.requestId === seen.headers['x-request-id']));
      const rec = h.records.find((x) => x.requestId === seen.headers['x-request-id']);
      assert.equal(rec?.responseCode, 200);
      assert.equal(rec?.sourcePrincipal, h.ca.id('default', 'client'));
      assert.equal(rec?.downstreamLocalAddress, `${vipEcho}:80`);
      assert.equal(rec?.upstreamCluster, 'inbound-vip|80|http|echo.default.svc.cluster.local');
      assert.equal(rec?.upstreamHost, connect.authority);
    } finally {
      await client.close();
    }
  });

  it('accepts a hostname:port authority', async () => {
    const client = await h.httpClient('echo.default.svc.cluster.local:80');
    try {
      const r = await client.request({ method: 'GET', path: '/by-name', headers: { host: 'echo' } });
      assert.equal(r.statusCode, 200);
      assert.equal((JSON.parse(await r.body.text()) as EchoReport).path, '/by-name');
    } finally {
      await client.close();
    }
  });

  it('refuses 400 an authority that is not a service of this waypoint', async () => {
    for (const authority of [`${h.block.vip(200)}:80`, `${vipOther}:80`, `${vipEcho}:9999`, 'nope.default.svc.cluster.local:80']) {
      const r = await h.dial(authority);
      assert.equal(r.ok, false, authority);
      if (!r.ok) assert.equal(r.status, 400, authority);
    }
  });

  it('serves HTTP/2 prior knowledge inside the tunnel', async () => {
    const stream = await h.tunnel(`${vipEcho}:81`);
    const session = http2.connect('http://tunnel', { createConnection: () => stream });
    try {
      const res = await new Promise<{ status: number; server: unknown; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ':authority': 'echo:81' });
        let status = 0;
        let server: unknown;
        let body = '';
        req.on('response', (hd) => {
          status = Number(hd[':status']);
          server = hd['server'];
        });
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => resolve({ status, server, body }));
        req.on('error', reject);
        req.end();
      });
      assert.equal(res.status, 200);
      assert.equal(res.server, 'istio-envoy');
      const seen = JSON.parse(res.body) as EchoReport;
      assert.equal(seen.path, '/h2');
      // An http2 port is proxied as HTTP/2 upstream too.
      assert.equal(seen.protocol, 'HTTP/2');
      assert.equal(seen.headers['x-envoy-attempt-count'], '1');
    } finally {
      session.close();
    }
  });

  it('reuses one upstream CONNECT stream for keep-alive requests', async () => {
    // A fresh service view so the pools start empty: use the :80 port and count CONNECTs.
    const client = await h.httpClient(`${vipEcho}:80`);
    try {
      // Warm both endpoints' pools first (least-request may pick either).
      const before = h.seen.length;
      const pods = new Map<string, Set<number>>();
      for (let i = 0; i < 8; i++) {
        const r = await client.request({ method: 'GET', path: `/ka/${i}`, headers: { host: 'echo' } });
        const seen = JSON.parse(await r.body.text()) as EchoReport;
        const ports = pods.get(seen.pod) ?? new Set<number>();
        ports.add(seen.peer.port);
        pods.set(seen.pod, ports);
      }
      // Sequential requests: at most one connection (one CONNECT stream) per endpoint.
      for (const [pod, ports] of pods) assert.equal(ports.size, 1, `${pod} saw ${ports.size} connections`);
      assert.ok(h.seen.length - before <= pods.size, `opened ${h.seen.length - before} CONNECTs for ${pods.size} endpoints`);
    } finally {
      await client.close();
    }
  });

  it('spreads requests over both endpoints (least request)', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => h.httpClient(`${vipEcho}:80`)));
    try {
      const pods = new Set<string>();
      await Promise.all(
        clients.flatMap((c, i) =>
          [0, 1, 2, 3, 4].map(async (j) => {
            const r = await c.request({ method: 'GET', path: `/spread/${i}/${j}`, headers: { host: 'echo', 'x-echo-delay-ms': '20' } });
            assert.equal(r.statusCode, 200);
            pods.add((JSON.parse(await r.body.text()) as EchoReport).pod);
          }),
        ),
      );
      assert.deepEqual([...pods].sort(), ['default/echo-1', 'default/echo-2']);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('answers 503 UH when the service has no endpoints', async () => {
    const client = await h.httpClient(`${vipEmpty}:80`);
    try {
      const r = await client.request({ method: 'GET', path: '/none', headers: { host: 'empty', 'x-request-id': 'uh-test' } });
      assert.equal(r.statusCode, 503);
      assert.equal(await r.body.text(), 'no healthy upstream');
      await eventually(() => h.records.some((x) => x.requestId === 'uh-test'));
      const rec = h.records.find((x) => x.requestId === 'uh-test');
      assert.equal(rec?.responseFlags, 'UH');
      assert.equal(rec?.responseCode, 503);
      assert.equal(rec?.upstreamCluster, 'inbound-vip|80|http|empty.default.svc.cluster.local');
    } finally {
      await client.close();
    }
  });

  it('streams a large request body up and a large response down', async () => {
    const client = await h.httpClient(`${vipEcho}:80`);
    try {
      const body = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
      const up = await client.request({ method: 'POST', path: '/echo-body', headers: { host: 'echo' }, body });
      const back = Buffer.from(await up.body.arrayBuffer());
      assert.equal(up.statusCode, 200);
      assert.ok(back.equals(body), 'echoed body differs');
      const down = await client.request({ method: 'GET', path: `/bytes/${5 * 1024 * 1024}`, headers: { host: 'echo' } });
      assert.equal((await down.body.arrayBuffer()).byteLength, 5 * 1024 * 1024);
    } finally {
      await client.close();
    }
  });
});
