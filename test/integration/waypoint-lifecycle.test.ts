/**
 * The waypoint follows view changes (addresses, service bindings) and drains on close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { ServiceIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import { service } from '../helpers/mesh-builders.js';
import type { AddressBlock } from '../helpers/addresses.js';
import { WaypointHarness } from './waypoint-harness.js';

function services(b: AddressBlock, bound: boolean): ServiceIR[] {
  return [service({ name: 'echo', vips: [b.vip(1)], ports: [{ port: 80, targetPort: 'app', appProtocol: 'http' }], ...(bound ? { waypoint: 'waypoint' } : {}) })];
}

describe('waypoint: lifecycle', () => {
  let h: WaypointHarness;

  before(async () => {
    h = await WaypointHarness.start([{ name: 'echo-1', n: 1, app: 'http', labels: { app: 'echo' } }], (b) => services(b, true));
  });

  after(async () => {
    await h.close();
  });

  it('listens on addresses added to the waypoint and stops on removed ones', async () => {
    const a1 = h.block.waypoint(1);
    const a2 = h.block.waypoint(2);
    h.reconfigure([a1, a2], services(h.block, true), 2);
    await eventually(() => h.waypoint.listening().some((l) => l.address === a2));
    const r = await h.dial(`${h.block.vip(1)}:80`, a2);
    assert.equal(r.ok, true);
    if (r.ok) r.stream.destroy();
    h.reconfigure([a1], services(h.block, true), 3);
    await eventually(() => !h.waypoint.listening().some((l) => l.address === a2));
    assert.deepEqual(
      h.waypoint.listening().map((l) => `${l.address}:${l.port}`),
      [`${a1}:15008`],
    );
  });

  it('stops serving a service unbound from the waypoint (400)', async () => {
    h.reconfigure([h.block.waypoint(1)], services(h.block, false), 4);
    const r = await h.dial(`${h.block.vip(1)}:80`);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.status, 400);
    h.reconfigure([h.block.waypoint(1)], services(h.block, true), 5);
    const again = await h.dial(`${h.block.vip(1)}:80`);
    assert.equal(again.ok, true);
    if (again.ok) again.stream.destroy();
  });

  it('lets an in-flight request finish when closing, within the deadline', async () => {
    const client = await h.httpClient(`${h.block.vip(1)}:80`);
    const pending = client.request({ method: 'GET', path: '/slow', headers: { host: 'echo', 'x-echo-delay-ms': '300' } });
    await eventually(() => h.seen.length > 0);
    const started = Date.now();
    const closing = h.waypoint.close(3000);
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.equal((JSON.parse(await r.body.text()) as EchoReport).path, '/slow');
    await closing;
    assert.ok(Date.now() - started < 3000, 'closed before the deadline');
    await client.close().catch(() => undefined);
  });
});
