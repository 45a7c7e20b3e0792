/**
 * The HTTP proxy in-process: downstream connections are plain loopback TCP sockets handed to
 * HttpProxy.serve (what the listener does with an accepted tunnel); upstream endpoints are
 * out-of-mesh workloads (protocol TCP) so no HBONE is involved. Real HTTP both ways.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import { EchoServer } from '../../src/apps/echo-server.js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { FilterFactory } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';
import { FilterChain, FilterErrorCounter } from '../../src/filter/chain.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { createTcpServer, listenTcp } from '../../src/net/sockets.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { UpstreamHttpClient } from '../../src/upstream/http-client.js';
import { LeastRequestBalancer } from '../../src/upstream/lb.js';
import type { HttpConnection } from '../../src/waypoint/http-exchange.js';
import { HttpProxy } from '../../src/waypoint/http-proxy.js';
import type { InnerHttpProtocol } from '../../src/waypoint/http-proxy.js';
import { downstreamResponseHeaders, responseHeadersFromRaw, upstreamRequestHeaders } from '../../src/waypoint/proxy-headers.js';
import { DefaultRouteTables } from '../../src/waypoint/router.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { meshView, service, workload } from '../helpers/mesh-builders.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const block = allocateBlock();

interface Harness {
  readonly port: number;
  readonly records: AccessRecord[];
  close(): Promise<void>;
}

/** Endpoint spec: a pod IP and the port its app listens on. */
interface EpSpec {
  readonly ip: string;
  readonly port: number;
}

function viewOf(eps: readonly EpSpec[]): MeshView {
  return meshView({
    workloads: eps.map((e, i) =>
      workload({ name: `echo-${i}`, ip: e.ip, labels: { app: 'echo' }, protocol: 'TCP', containerPorts: [{ name: 'http', port: e.port, protocol: 'TCP' }] }),
    ),
    services: [service({ name: 'echo', vips: [block.vip(1)], ports: [{ port: 80, targetPort: 'http', appProtocol: 'http' }] })],
  });
}

async function harness(eps: readonly EpSpec[], opts: { protocol?: InnerHttpProtocol; chain?: FilterChain; random?: () => number } = {}): Promise<Harness> {
  const view = viewOf(eps);
  const target = view.serviceTarget(block.vip(1), 80, true);
  assert.ok(target);
  const records: AccessRecord[] = [];
  const upstream = new UpstreamHttpClient({
    dial: () => Promise.resolve({ ok: false, code: 'UPSTREAM_CONNECT_FAILED', message: 'no HBONE in this test' }),
    source: () => Promise.reject(new Error('no certificates in this test')),
  });
  const proxy = new HttpProxy({
    lb: new LeastRequestBalancer(opts.random),
    upstream,
    accessLog: (r) => records.push(r),
    random: opts.random ?? Math.random,
  });
  const conn: HttpConnection = {
    routes: new DefaultRouteTables().tableFor(view, target),
    chain: opts.chain ?? FilterChain.EMPTY,
    destination: {
      hostname: target.service.hostname,
      name: 'echo',
      namespace: 'default',
      port: 80,
      appProtocol: 'http',
      connectAuthority: `${block.vip(1)}:80`,
    },
    source: { principal: 'spiffe://cluster.local/ns/default/sa/client', address: '127.0.0.1', port: 1 },
    downstreamLocalAddress: `${block.vip(1)}:80`,
    downstreamRemoteAddress: '127.0.0.1:1',
    upstreamVersion: 'h1',
  };
  const server = createTcpServer((socket) => proxy.serve(socket, opts.protocol ?? 'http1', conn));
  const addr = await listenTcp(server, '127.0.0.1', 0);
  return {
    port: addr.port,
    records,
    async close() {
      server.close();
      await proxy.close(200);
      await upstream.close(200);
    },
  };
}

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const r = await client.request({ method: body ? 'POST' : 'GET', path, headers: { host: 'echo.default:80', ...headers }, ...(body ? { body } : {}) });
    const chunks: Buffer[] = [];
    for await (const c of r.body) chunks.push(c as Buffer);
    return { status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) };
  } finally {
    await client.close();
  }
}

describe('http proxy (in-process)', () => {
  const echoes: EchoServer[] = [];
  const eps: EpSpec[] = [];
  let deadPort = 0;

  before(async () => {
    for (const n of [1, 2]) {
      const e = new EchoServer({ pod: `default/echo-${n}`, host: block.pod(n), port: 0 });
      const a = await e.start();
      echoes.push(e);
      eps.push({ ip: block.pod(n), port: a.port });
    }
    // A port with nothing behind it: connect is refused.
    const probe = net.createServer();
    deadPort = (await listenTcp(probe, block.pod(3), 0)).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });

  after(async () => {
    for (const e of echoes) await e.close(200);
  });

  it('proxies a request with Istio waypoint headers both ways, and records it', async () => {
    const h = await harness([eps[0] as EpSpec]);
    try {
      const r = await get(h.port, '/hello?x=1', { 'x-keep': 'yes' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['server'], 'istio-envoy');
      assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
      assert.equal(r.headers['x-echo-pod'], 'default/echo-1');
      const seen = JSON.parse(r.body.toString()) as EchoReport;
      assert.equal(seen.path, '/hello?x=1');
      assert.equal(seen.authority, 'echo.default:80');
      assert.match(String(seen.headers['x-request-id']), UUID);
      assert.equal(seen.headers['x-envoy-attempt-count'], '1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-keep'], 'yes');
      await eventually(() => h.records.length === 1);
      const rec = h.records[0] as AccessRecord;
      assert.equal(rec.kind, 'http');
      assert.equal(rec.responseCode, 200);
      assert.equal(rec.responseFlags, '-');
      assert.equal(rec.responseCodeDetails, 'via_upstream');
      assert.equal(rec.method, 'GET');
      assert.equal(rec.path, '/hello?x=1');
      assert.equal(rec.protocol, 'HTTP/1.1');
      assert.equal(rec.routeName, 'default');
      assert.equal(rec.upstreamCluster, 'inbound-vip|80|http|echo.default.svc.cluster.local');
      assert.equal(rec.upstreamHost, `${eps[0]?.ip}:${eps[0]?.port}`);
      assert.equal(rec.requestId, seen.headers['x-request-id']);
      assert.equal(rec.authority, 'echo.default:80');
      assert.equal(rec.sourcePrincipal, 'spiffe://cluster.local/ns/default/sa/client');
      assert.equal(rec.bytesSent, r.body.length);
    } finally {
      await h.close();
    }
  });

  it('keeps a client x-request-id', async () => {
    const h = await harness([eps[0] as EpSpec]);
    try {
      const r = await get(h.port, '/', { 'x-request-id': 'abc-123' });
      assert.equal((JSON.parse(r.body.toString()) as EchoReport).headers['x-request-id'], 'abc-123');
    } finally {
      await h.close();
    }
  });

  it('drops hop-by-hop request headers, including those the Connection header names', async () => {
    const h = await harness([eps[0] as EpSpec]);
    try {
      // Raw bytes: HTTP clients rewrite Connection themselves.
      const sock = net.connect(h.port, '127.0.0.1');
      sock.end(
        'GET /hop HTTP/1.1\r\nHost: echo\r\nConnection: close, X-Hop\r\nX-Hop: drop-me\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nX-Keep: yes\r\n\r\n',
      );
      let raw = '';
      sock.setEncoding('utf8');
      for await (const c of sock) raw += c as string;
      assert.match(raw, /^HTTP\/1\.1 200 /);
      const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as EchoReport;
      assert.equal(seen.headers['x-keep'], 'yes');
      for (const name of ['x-hop', 'keep-alive', 'proxy-connection']) assert.equal(seen.headers[name], undefined, name);
    } finally {
      await h.close();
    }
  });

  it('streams a 1 MiB body up and back', async () => {
    const h = await harness([eps[0] as EpSpec]);
    try {
      const body = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
      const r = await get(h.port, '/echo-body', {}, body);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(body));
      await eventually(() => h.records.length === 1);
      assert.equal(h.records[0]?.bytesReceived, body.length);
      assert.equal(h.records[0]?.bytesSent, body.length);
    } finally {
      await h.close();
    }
  });

  it('answers 503 UH "no healthy upstream" when the service port has no endpoints', async () => {
    const h = await harness([]);
    try {
      const r = await get(h.port, '/');
      assert.equal(r.status, 503);
      assert.equal(r.body.toString(), 'no healthy upstream');
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(r.headers['server'], 'istio-envoy');
      assert.equal(r.headers['x-envoy-upstream-service-time'], undefined);
      await eventually(() => h.records.length === 1);
      assert.equal(h.records[0]?.responseFlags, 'UH');
      assert.equal(h.records[0]?.responseCode, 503);
      assert.equal(h.records[0]?.responseCodeDetails, 'no_healthy_upstream');
    } finally {
      await h.close();
    }
  });

  it('answers 503 UF when the upstream refuses connections (after the default retries)', async () => {
    const h = await harness([{ ip: block.pod(3), port: deadPort }]);
    try {
      const r = await get(h.port, '/');
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /reset reason: connection failure/);
      await eventually(() => h.records.length === 1);
      // Retries exhausted on a retriable failure: Envoy adds URX (printed in its flag order).
      assert.equal(h.records[0]?.responseFlags, 'UF,URX');
    } finally {
      await h.close();
    }
  });

  it('answers 502 UPE when the upstream sends a malformed HTTP/1.1 response', async () => {
    // Conflicting Content-Length: the waypoint's own h1 client refuses it (request smuggling shape).
    const bad = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'));
    });
    const port = (await listenTcp(bad, block.pod(4), 0)).port;
    const h = await harness([{ ip: block.pod(4), port }]);
    try {
      const r = await get(h.port, '/');
      assert.equal(r.status, 502);
      assert.match(r.body.toString(), /protocol error/);
      await eventually(() => h.records.length === 1);
      assert.equal(h.records[0]?.responseFlags, 'UPE');
    } finally {
      await h.close();
      await new Promise<void>((r) => bad.close(() => r()));
    }
  });

  it('retries a request that never reached a host (reset-before-request) on another pick', async () => {
    // Two endpoints: the dead one first (draws 0,0), no back-off (draw 0), then the live one (draw 0.9).
    let n = 0;
    const draws = [0, 0, 0, 0.9, 0];
    const h = await harness([{ ip: block.pod(3), port: deadPort }, eps[1] as EpSpec], { random: () => draws[n++ % draws.length] as number });
    try {
      const r = await get(h.port, '/retry');
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body.toString()) as EchoReport;
      assert.equal(seen.headers['x-envoy-attempt-count'], '2');
      assert.equal(seen.pod, 'default/echo-2');
    } finally {
      await h.close();
    }
  });

  it('answers 503 UC when the upstream resets before responding (no retry: it got the request)', async () => {
    let requests = 0;
    const rude = createTcpServer((s) => {
      s.once('data', () => {
        requests++;
        s.resetAndDestroy();
      });
    });
    const a = await listenTcp(rude, block.pod(4), 0);
    const h = await harness([{ ip: block.pod(4), port: a.port }]);
    try {
      const r = await get(h.port, '/');
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /connection termination/);
      await eventually(() => h.records.length === 1);
      assert.equal(h.records[0]?.responseFlags, 'UC');
      assert.equal(requests, 1);
    } finally {
      await h.close();
      rude.close();
    }
  });

  it('reuses one upstream connection for sequential requests (keep-alive)', async () => {
    const h = await harness([eps[0] as EpSpec]);
    const client = new Client(`http://127.0.0.1:${h.port}`);
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 5; i++) {
        const r = await client.request({ method: 'GET', path: `/${i}`, headers: { host: 'echo' } });
        ports.add((JSON.parse(await r.body.text()) as EchoReport).peer.port);
      }
      assert.equal(ports.size, 1);
    } finally {
      await client.close();
      await h.close();
    }
  });

  it('runs filters: a local reply skips the router and later filters; earlier ones see the reply', async () => {
    const deny: FilterFactory = {
      name: 'authz',
      phase: 'AUTHZ',
      create: () => ({
        onRequestHeaders: (ctx) => (ctx.headers.has('x-deny') ? DENIED : CONTINUE),
      }),
    };
    const DENIED = respond({ status: 403, body: 'RBAC: access denied', responseFlag: 'RBAC', details: 'rbac_access_denied' });
    const tag = (name: string, phase: 'JWT_AUTHN' | 'STATS'): FilterFactory => ({
      name,
      phase,
      create: () => ({
        onResponseHeaders: (_ctx, resp) => {
          resp.headers.set(`x-${name}`, 'seen');
          return CONTINUE;
        },
      }),
    });
    const chain = new FilterChain([tag('stats', 'STATS'), deny, tag('jwt', 'JWT_AUTHN')], new FilterErrorCounter(() => undefined));
    const h = await harness([eps[0] as EpSpec], { chain });
    try {
      const denied = await get(h.port, '/', { 'x-deny': '1' });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.toString(), 'RBAC: access denied');
      assert.equal(denied.headers['x-jwt'], 'seen');
      assert.equal(denied.headers['x-stats'], undefined);
      const allowed = await get(h.port, '/');
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers['x-jwt'], 'seen');
      assert.equal(allowed.headers['x-stats'], 'seen');
      await eventually(() => h.records.length === 2);
      const rec = h.records.find((r) => r.responseCode === 403);
      assert.equal(rec?.responseFlags, 'RBAC');
      assert.equal(rec?.upstreamHost, undefined);
    } finally {
      await h.close();
    }
  });

  it('answers 500 when a filter throws', async () => {
    const broken: FilterFactory = {
      name: 'broken',
      phase: 'FAULT',
      create: () => ({
        onRequestHeaders: () => {
          throw new Error('bug');
        },
      }),
    };
    const errors = new FilterErrorCounter(() => undefined);
    const h = await harness([eps[0] as EpSpec], { chain: new FilterChain([broken], errors) });
    try {
      const r = await get(h.port, '/');
      assert.equal(r.status, 500);
      assert.equal(errors.count('broken'), 1);
    } finally {
      await h.close();
    }
  });

  it('serves HTTP/2 prior knowledge downstream', async () => {
    const h = await harness([eps[0] as EpSpec], { protocol: 'http2' });
    const session = http2.connect(`http://127.0.0.1:${h.port}`);
    try {
      const { status, headers, body } = await new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ':authority': 'echo.default:80' });
        let hdrs: http2.IncomingHttpHeaders = {};
        let data = '';
        req.on('response', (h2) => (hdrs = h2));
        req.setEncoding('utf8');
        req.on('data', (c: string) => (data += c));
        req.on('end', () => resolve({ status: Number(hdrs[':status']), headers: hdrs, body: data }));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(headers['server'], 'istio-envoy');
      const seen = JSON.parse(body) as EchoReport;
      assert.equal(seen.path, '/h2');
      assert.equal(seen.authority, 'echo.default:80');
      assert.equal(seen.headers['x-envoy-attempt-count'], '1');
      await eventually(() => h.records.length === 1);
      assert.equal(h.records[0]?.protocol, 'HTTP/2');
    } finally {
      session.close();
      await h.close();
    }
  });
});

describe('proxy headers', () => {
  it('strips hop-by-hop and Connection-listed headers upstream, keeps te: trailers', () => {
    const h = new HeaderMap();
    h.set('connection', 'close, x-secret');
    h.set('x-secret', '1');
    h.set('keep-alive', 'timeout=5');
    h.set('transfer-encoding', 'chunked');
    h.set('upgrade', 'websocket');
    h.set('te', 'trailers');
    h.set('host', 'client-host');
    h.set('x-envoy-attempt-count', '7');
    h.set('set-cookie', ['a=1', 'b=2']);
    assert.deepEqual(upstreamRequestHeaders(h, 'svc:80', 2), ['te', 'trailers', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'host', 'svc:80', 'x-envoy-attempt-count', '2']);
  });

  it('filters upstream response headers and overwrites server', () => {
    const raw = ['Server', 'nginx', 'Connection', 'x-y', 'X-Y', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a', 'set-cookie', 'b', 'X-Ok', '1'].map((s) => Buffer.from(s));
    const out = downstreamResponseHeaders(responseHeadersFromRaw(raw), 12);
    assert.deepEqual(out, { 'set-cookie': ['a', 'b'], 'x-ok': '1', server: 'istio-envoy', 'x-envoy-upstream-service-time': '12' });
  });
});
