/**
 * Two ztunnels on loopback: SOCKS5 from a pod on node-a to services and pods on node-b over real
 * HBONE (mTLS 1.3 + HTTP/2), a non-mesh TCP workload, a waypoint-bound service, L4 policy, and
 * the access records of each connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HboneConnect } from '../../src/hbone/types.js';
import { HboneServer } from '../../src/hbone/server.js';
import { formatConnectionRecord } from '../../src/ztunnel/connection-record.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { l4Policy, meshView, service, waypoint, workload } from '../helpers/mesh-builders.js';
import type { TestApp, ZtunnelMesh } from './ztunnel-harness.js';
import { exchange, startApp, startMesh } from './ztunnel-harness.js';

const block = allocateBlock();
const sleep = workload({ name: 'sleep', ip: block.pod(1), node: 'node-a' });
const reviews = workload({ name: 'reviews-1', ip: block.pod(2), node: 'node-b', serviceAccount: 'reviews', labels: { app: 'reviews' } });
const legacy = workload({ name: 'legacy', ip: block.pod(3), node: 'node-b', protocol: 'TCP' });
const secret = workload({ name: 'secret', ip: block.pod(4), node: 'node-b' });
const guarded = workload({ name: 'guarded', ip: block.pod(5), node: 'node-b' });
const intruder = workload({ name: 'intruder', ip: block.pod(6), node: 'node-a' });
const wp = waypoint({ name: 'wp', addresses: [block.waypoint(1)] });
const ratingsHost = 'ratings.default.svc.cluster.local';

const view = meshView({
  workloads: [sleep, reviews, legacy, secret, guarded, intruder],
  services: [
    service({ name: 'reviews', vips: [block.vip(1)], ports: [{ port: 80, targetPort: 9080 }] }),
    service({ name: 'ratings', vips: [block.vip(2)], ports: [9080], waypoint: 'wp' }),
    service({ name: 'legacy', vips: [block.vip(3)], ports: [{ port: 80, targetPort: 7070 }] }),
    service({ name: 'secret', vips: [block.vip(4)], ports: [{ port: 80, targetPort: 9080 }] }),
    service({ name: 'guarded', vips: [block.vip(5)], ports: [{ port: 80, targetPort: 9080 }] }),
  ],
  waypoints: [wp],
  policies: [
    l4Policy({ name: 'no-sleep', action: 'DENY', selector: { app: 'secret' }, matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] }),
    l4Policy({ name: 'only-sleep', action: 'ALLOW', selector: { app: 'guarded' }, matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] }),
  ],
});

describe('ztunnel routing', () => {
  let mesh: ZtunnelMesh;
  const apps = new Map<string, TestApp>();
  let fakeWaypoint: HboneServer;
  const waypointSaw: HboneConnect[] = [];

  before(async () => {
    apps.set('reviews', await startApp(reviews.ip, 9080, 'echo'));
    apps.set('legacy', await startApp(legacy.ip, 7070, 'echo'));
    apps.set('secret', await startApp(secret.ip, 9080, 'echo'));
    apps.set('guarded', await startApp(guarded.ip, 9080, 'echo'));
    mesh = await startMesh(view, ['node-a', 'node-b']);
    fakeWaypoint = new HboneServer({
      certSource: mesh.ca.certSource,
      identityFor: (addr) => (addr === block.waypoint(1) ? wp.identity : undefined),
      handler: (c) => {
        waypointSaw.push(c);
        const s = c.accept();
        s.pipe(s);
      },
    });
    await fakeWaypoint.addListener(block.waypoint(1), 15008);
  });

  after(async () => {
    await mesh?.close();
    await fakeWaypoint?.close(200);
    await Promise.all([...apps.values()].map((a) => a.close()));
  });

  it('binds HBONE only for local mesh pods, SOCKS5 for every local pod', () => {
    const b = mesh.ztunnels.get('node-b')?.listening();
    assert.deepEqual([...(b?.hbone ?? [])].sort(), [reviews, secret, guarded].map((w) => `${w.ip}:15008`).sort());
    assert.deepEqual([...(b?.socks ?? [])].sort(), [reviews, legacy, secret, guarded].map((w) => `${w.ip}:15080`).sort());
    const a = mesh.ztunnels.get('node-a')?.listening();
    assert.deepEqual([...(a?.socks ?? [])].sort(), [sleep, intruder].map((w) => `${w.ip}:15080`).sort());
  });

  it('reaches a service by name (short, namespaced, FQDN) and by VIP; the app sees the source pod IP', async () => {
    const app = apps.get('reviews');
    assert.ok(app);
    for (const host of ['reviews', 'reviews.default', 'reviews.default.svc.cluster.local', block.vip(1)]) {
      const n0: number = app.connections.length;
      const s = await mesh.socks(sleep, host, 80);
      const reply = await exchange(s, `hello via ${host}`);
      assert.equal(reply.toString(), `hello via ${host}`);
      assert.equal(app.connections.length, n0 + 1);
      assert.equal(app.connections[n0]?.peerAddress, sleep.ip, 'source IP kept end to end');
    }
  });

  it('writes one outbound and one inbound record per connection', async () => {
    const s = await mesh.socks(sleep, 'reviews', 80);
    assert.equal((await exchange(s, 'record me')).toString(), 'record me');
    const out = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'outbound' && x.bytesSent === 9 && x.dstHboneAddr === `${reviews.ip}:9080`);
      assert.ok(r);
      return r;
    });
    assert.equal(out.srcWorkload, 'sleep');
    assert.equal(out.srcIdentity, sleep.identity);
    assert.equal(out.dstService, 'reviews.default.svc.cluster.local');
    assert.equal(out.dstAddr, `${reviews.ip}:15008`);
    assert.equal(out.dstIdentity, reviews.identity);
    assert.equal(out.bytesRecv, 9);
    assert.equal(out.error, undefined);
    const inb = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'inbound' && x.bytesSent === 9 && x.srcIdentity === sleep.identity);
      assert.ok(r);
      return r;
    });
    assert.equal(inb.srcWorkload, 'sleep');
    assert.equal(inb.dstWorkload, 'reviews-1');
    assert.equal(inb.dstAddr, `${reviews.ip}:9080`);
    assert.equal(inb.dstService, 'reviews.default.svc.cluster.local', 'from the forwarded host=');
    const line = formatConnectionRecord(out);
    assert.match(line, /^connection complete src\.addr=127\.1\.\d+\.1:\d+ src\.workload=sleep src\.namespace=default src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep" /);
    assert.match(line, / direction="outbound" bytes_sent=9 bytes_recv=9 duration="\d+ms"$/);
  });

  it('reaches a pod IP directly', async () => {
    const app = apps.get('reviews');
    assert.ok(app);
    const n0: number = app.connections.length;
    const s = await mesh.socks(sleep, reviews.ip, 9080);
    assert.equal((await exchange(s, 'direct')).toString(), 'direct');
    assert.equal(app.connections[n0]?.peerAddress, sleep.ip);
  });

  it('reaches a non-mesh (TCP) workload in plaintext, from the source IP', async () => {
    const app = apps.get('legacy');
    assert.ok(app);
    const s = await mesh.socks(sleep, 'legacy', 80);
    assert.equal((await exchange(s, 'plain')).toString(), 'plain');
    assert.equal(app.connections.at(-1)?.peerAddress, sleep.ip);
    const rec = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'outbound' && x.dstAddr === `${legacy.ip}:7070`);
      assert.ok(r);
      return r;
    });
    assert.equal(rec.dstHboneAddr, undefined, 'no HBONE hop');
  });

  it('sends a waypoint-bound service to its waypoint with VIP:port, the source identity and forwarded host', async () => {
    for (const host of ['ratings', block.vip(2)]) {
      const n0 = waypointSaw.length;
      const s = await mesh.socks(sleep, host, 9080);
      assert.equal((await exchange(s, 'to the waypoint')).toString(), 'to the waypoint');
      const c = waypointSaw[n0];
      assert.ok(c, 'the waypoint got a CONNECT');
      assert.equal(c.authority.text, `${block.vip(2)}:9080`);
      assert.equal(c.connection.peerIdentity, sleep.identity);
      assert.equal(c.connection.peerAddress, sleep.ip);
      const fwd = String(c.headers['forwarded']);
      assert.match(fwd, new RegExp(`^for="${sleep.ip.replaceAll('.', '\\.')}:\\d+";host=${ratingsHost.replaceAll('.', '\\.')}$`));
      assert.match(String(c.headers['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.match(String(c.headers['baggage']), /k8s\.namespace\.name=default/);
      assert.match(String(c.headers['baggage']), /service\.name=sleep/);
    }
  });

  it('L4 DENY: SOCKS5 reply 0x02 and the app never sees a connection', async () => {
    assert.equal(await mesh.socksReply(sleep, 'secret', 80), 0x02);
    assert.equal(await mesh.socksReply(sleep, secret.ip, 9080), 0x02);
    assert.equal(apps.get('secret')?.connections.length, 0);
    const rec = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'inbound' && x.dstWorkload === 'secret');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseFlag, 'DENY');
    assert.match(rec.error ?? '', /default\/no-sleep/);
    // Another source is not matched by the DENY.
    const s = await mesh.socks(intruder, 'secret', 80);
    assert.equal((await exchange(s, 'ok')).toString(), 'ok');
  });

  it('L4 ALLOW for one principal admits it and rejects another', async () => {
    const app = apps.get('guarded');
    assert.ok(app);
    const s = await mesh.socks(sleep, 'guarded', 80);
    assert.equal((await exchange(s, 'let me in')).toString(), 'let me in');
    assert.equal(app.connections.length, 1);
    assert.equal(await mesh.socksReply(intruder, 'guarded', 80), 0x02);
    assert.equal(app.connections.length, 1);
  });

  it('the source is the pod the client connects from, even through another pod’s listener', async () => {
    // intruder dials sleep's SOCKS5 port from its own IP: it is still intruder (denied by ALLOW).
    await assert.rejects(mesh.socks(intruder, 'guarded', 80, { via: sleep.ip }), { reply: 0x02 });
    // A client that does not bind a pod IP is the listener's pod.
    const s = await mesh.socks(sleep, 'guarded', 80, { bindIp: null });
    assert.equal((await exchange(s, 'anon')).toString(), 'anon');
  });

  it('maps failures: unknown name 0x04, refused port 0x05, undeclared service port 0x05', async () => {
    assert.equal(await mesh.socksReply(sleep, 'nosuch', 80), 0x04);
    assert.equal(await mesh.socksReply(sleep, reviews.ip, 9999), 0x05, 'destination ztunnel answered 503');
    assert.equal(await mesh.socksReply(sleep, 'reviews', 81), 0x05);
    assert.equal(await mesh.socksReply(sleep, legacy.ip, 9999), 0x05, 'plain TCP refused');
    const rec = await eventually(() => {
      const r = mesh.records.find((x) => x.direction === 'inbound' && x.dstAddr === `${reviews.ip}:9999`);
      assert.ok(r);
      return r;
    });
    assert.equal(rec.failure, 'APP_CONNECT_FAILED');
  });

  it('reported no unexpected errors', () => {
    assert.deepEqual(mesh.errors, []);
  });
});
