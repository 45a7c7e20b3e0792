/**
 * The foundation's end-to-end behaviour on the embedded default mesh (relocated to this file's
 * addresses): client pod → its ztunnel → waypoint → destination ztunnel → echo app, over real
 * mTLS 1.3 and HTTP/2, asserting what the app and the peers saw.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { Socks5Error } from '../../src/net/socks5-client.js';
import { eventually } from '../helpers/eventually.js';
import { echoRoundTrip, startLocalMesh, sendHttp, type LocalMesh } from '../helpers/local-mesh.js';

const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const SLEEP_ID = 'spiffe://cluster.local/ns/default/sa/sleep';

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('local mesh end to end', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  it('routes a service with a waypoint through it: the app sees the waypoint as its peer', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const res = await mesh.request(sleep, 'http://reviews:9080/productpage?x=1', { headers: { 'x-custom': 'kept' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['server'], 'istio-envoy');
    assert.match(String(res.headers['x-envoy-upstream-service-time']), /^\d+$/);
    const report = res.json<EchoReport>();
    assert.match(report.pod, /^default\/reviews-v[12]$/);
    assert.equal(report.path, '/productpage?x=1');
    assert.equal(report.headers['x-custom'], 'kept');
    assert.equal(report.headers['x-envoy-attempt-count'], '1');
    assert.match(String(report.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    // The destination ztunnel connected to the app from the waypoint's address.
    assert.equal(report.peer.address, mesh.block.waypoint(1));
    assert.equal(report.peer.identity, WAYPOINT_ID);
    // The waypoint saw the client's identity and recorded the request.
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.path === '/productpage?x=1');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseCode, 200);
    assert.equal(rec.sourcePrincipal, SLEEP_ID);
    assert.equal(rec.upstreamCluster, 'inbound-vip|9080|http|reviews.default.svc.cluster.local');
  });

  it('spreads requests across both reviews endpoints', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) {
      const res = await mesh.request(sleep, 'http://reviews.default.svc.cluster.local:9080/');
      assert.equal(res.status, 200);
      seen.add(res.json<EchoReport>().pod);
    }
    assert.deepEqual([...seen].sort(), ['default/reviews-v1', 'default/reviews-v2']);
  });

  it('sends a service without a waypoint directly: the app sees the client pod', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const before = mesh.waypointRecords.length;
    const res = await mesh.request(sleep, `http://${mesh.block.vip(11)}:9080/direct`);
    assert.equal(res.status, 200);
    const report = res.json<EchoReport>();
    assert.equal(report.pod, 'default/ratings-v1');
    assert.equal(report.peer.address, sleep.ip);
    assert.equal(report.peer.identity, SLEEP_ID);
    assert.equal(res.headers['server'], undefined, 'no waypoint on this path');
    assert.equal(mesh.waypointRecords.length, before);
  });

  it('refuses a connection that L4 policy denies, before it reaches the app', async () => {
    const notsleep = mesh.pod('other', 'notsleep');
    await assert.rejects(
      mesh.request(notsleep, 'http://ratings.default:9080/'),
      (err: unknown) => err instanceof Socks5Error && err.reply === 0x02,
    );
    const rec = await eventually(() => {
      const r = mesh.ztunnelRecords.find((x) => x.direction === 'inbound' && x.srcWorkload === 'notsleep');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseFlag, 'DENY');
    assert.equal(rec.bytesRecv, 0);
  });

  it('reaches a pod outside the mesh in plaintext', async () => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://legacy-echo.legacy:8080/');
    assert.equal(res.status, 200);
    const report = res.json<EchoReport>();
    assert.equal(report.pod, 'legacy/legacy-echo');
    assert.equal(report.peer.address, mesh.pod('default', 'sleep').ip);
  });

  it('passes a TCP port through the waypoint', async () => {
    const payload = randomBytes(200_000);
    const echoed = await echoRoundTrip(mesh, mesh.pod('default', 'sleep'), 'tcp-echo', 9000, payload);
    assert.equal(sha256(echoed), sha256(payload));
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.upstreamCluster === 'inbound-vip|9000|tcp|tcp-echo.default.svc.cluster.local');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.bytesReceived, payload.length);
  });

  it('carries a 32 MiB body each way through the waypoint intact', async () => {
    const body = randomBytes(32 * 1024 * 1024);
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/echo-body', { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, body.length);
    assert.equal(sha256(res.body), sha256(body));
  });

  it('answers a client that half-closes after its request', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => socket.on('end', r));
    socket.end('GET /half-closed HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n');
    await ended;
    const text = Buffer.concat(chunks).toString('utf8');
    assert.match(text, /^HTTP\/1\.1 200 /);
    const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as EchoReport;
    assert.equal(json.path, '/half-closed');
  });

  it('multiplexes 100 concurrent client connections over one HBONE connection to the waypoint', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const pool = mesh.pools.get(sleep.node);
    assert.ok(pool);
    // Let earlier tests' streams finish, so the count below is this test's alone.
    await eventually(() => assert.equal(pool.stats().streams, 0));
    const connectionsBefore = pool.stats().connections;
    const sockets = await Promise.all(Array.from({ length: 100 }, () => mesh.connectFrom(sleep, 'reviews', 9080)));
    assert.equal(pool.stats().streams, 100);
    assert.ok(pool.stats().connections - connectionsBefore <= 1, `at most one new connection, got ${pool.stats().connections - connectionsBefore}`);
    const responses = await Promise.all(sockets.map((s, i) => sendHttp(s, new URL(`http://reviews:9080/c${i}`))));
    for (const [i, r] of responses.entries()) {
      assert.equal(r.status, 200);
      assert.equal(r.json<EchoReport>().path, `/c${i}`);
    }
  });

  it('keeps a long request going across a config change', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const generation = mesh.store.current().generation;
    const slow = mesh.request(sleep, 'http://reviews:9080/slow', { headers: { 'x-echo-delay-ms': '800' } });
    // Add a third reviews pod while the request is in flight.
    mesh.config.write(
      '70-reviews-v3.yaml',
      `apiVersion: v1
kind: Pod
metadata: {name: reviews-v3, namespace: default, labels: {app: reviews, version: v3}}
spec:
  nodeName: node-b
  serviceAccountName: bookinfo-reviews
  containers: [{name: reviews, image: echo, ports: [{name: http, containerPort: 9080}]}]
status: {podIP: 127.1.0.15}
`,
    );
    await eventually(() => assert.ok(mesh.store.current().generation > generation), 5000);
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.json<EchoReport>().path, '/slow');
  });

  it('had the destination ztunnels authenticate the waypoint identity on its HBONE hops', async () => {
    // ztunnel writes its record when a connection completes; the waypoint's upstream keep-alive
    // streams close once idle (undici's keep-alive timeout), so wait for them.
    const inbound = await eventually(() => {
      const r = mesh.ztunnelRecords.filter((x) => x.direction === 'inbound' && x.srcIdentity === WAYPOINT_ID);
      assert.ok(r.length > 0, 'inbound records from the waypoint');
      return r;
    }, 15_000);
    for (const r of inbound) {
      assert.equal(r.srcAddr.split(':')[0], mesh.block.waypoint(1));
      assert.ok(r.dstWorkload?.startsWith('reviews-v') || r.dstWorkload === 'tcp-echo', `unexpected destination ${r.dstWorkload}`);
      assert.equal(r.dstHboneAddr?.split(':')[0], mesh.pod('default', r.dstWorkload!).ip);
    }
  });
});
