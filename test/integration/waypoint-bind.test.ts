/**
 * Pod-IP bind mode: in a cluster the waypoint Gateway's address is the hostname of its Service, so
 * the waypoint listens on its pod's IP (or a wildcard) and still serves that Gateway: its identity,
 * its Services, upstream tunnels from its own address. Driven over real HBONE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { meshView, service } from '../helpers/mesh-builders.js';
import { WAYPOINT_SA, WaypointHarness } from './waypoint-harness.js';

const PODS = [{ name: 'echo-1', n: 1, app: 'http' as const, labels: { app: 'echo' } }];

async function get(h: WaypointHarness, authority: string, address: string, port = 15008): Promise<{ status: number; report: EchoReport }> {
  const dialed = await h.dial(authority, address, port);
  if (!dialed.ok) assert.fail(`dial ${address}:${port} ${authority}: ${dialed.code} ${dialed.status ?? ''} ${dialed.message}`);
  const stream = dialed.stream;
  stream.write(`GET /bound HTTP/1.1\r\nhost: echo.default.svc.cluster.local\r\nconnection: close\r\n\r\n`);
  let text = '';
  for await (const chunk of stream) text += (chunk as Buffer).toString();
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
  return { status, report: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as EchoReport };
}

describe('waypoint: pod-IP bind mode (Gateway address is a hostname)', () => {
  let h: WaypointHarness;

  before(async () => {
    h = await WaypointHarness.start(PODS, (b) => [service({ name: 'echo', vips: [b.vip(1)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }], waypoint: 'waypoint' })], {
      bind: (b) => [b.waypoint(1)],
    });
  });
  after(async () => {
    await h?.close();
  });

  it('listens on the bound address, presents the Gateway identity and routes to the Service', async () => {
    assert.deepEqual(h.view.current().waypoint('default', 'waypoint')?.addresses, []);
    assert.deepEqual(
      h.waypoint.listening().map((a) => `${a.address}:${a.port}`),
      [`${h.block.waypoint(1)}:15008`],
    );
    const before = h.seen.length;
    const r = await get(h, `${h.block.vip(1)}:80`, h.block.waypoint(1));
    assert.equal(r.status, 200);
    assert.equal(r.report.pod, 'default/echo-1');
    assert.equal(r.report.path, '/bound');
    // Upstream tunnels carry the waypoint's identity and leave from the pod IP it is bound to.
    const connect = h.seen[before];
    assert.equal(connect?.peerIdentity, h.ca.id('default', WAYPOINT_SA));
    assert.equal(connect?.peerAddress, h.block.waypoint(1));
  });

  it('stops listening when its Gateway goes, and listens again when it is back', async () => {
    const services = [service({ name: 'echo', vips: [h.block.vip(1)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }], waypoint: 'waypoint' })];
    const current = h.view.current();
    h.view.set(meshView({ workloads: [...current.snapshot.workloads.values()], services, waypoints: [], generation: 50 }));
    await eventually(() => assert.equal(h.waypoint.listening().length, 0));
    h.view.set(current);
    await eventually(() => assert.equal(h.waypoint.listening().length, 1));
    assert.equal((await get(h, `${h.block.vip(1)}:80`, h.block.waypoint(1))).status, 200);
  });
});

describe('waypoint: wildcard bind', () => {
  let h: WaypointHarness;

  before(async () => {
    // Port 0: a wildcard on 15008 would collide with every other test's waypoint addresses.
    h = await WaypointHarness.start(PODS, (b) => [service({ name: 'echo', vips: [b.vip(1)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }], waypoint: 'waypoint' })], {
      bind: () => ['0.0.0.0'],
      hbonePort: 0,
    });
  });
  after(async () => {
    await h?.close();
  });

  it('accepts on any local address with the Gateway identity; the kernel picks the upstream source', async () => {
    const [bound] = h.waypoint.listening();
    assert.equal(bound?.address, '0.0.0.0');
    const port = bound?.port ?? 0;
    // The client checks the waypoint's certificate (expected identity) on both addresses.
    for (const address of ['127.0.0.1', h.block.waypoint(7)]) {
      const r = await get(h, `${h.block.vip(1)}:80`, address, port);
      assert.equal(r.status, 200, address);
      assert.equal(r.report.pod, 'default/echo-1');
    }
    assert.ok(h.seen.length > 0 && h.seen.every((c) => c.peerIdentity === h.ca.id('default', WAYPOINT_SA)));
  });
});
