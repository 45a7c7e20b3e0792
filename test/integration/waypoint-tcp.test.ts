/**
 * TCP pass-through and protocol sniffing through a real waypoint:
 * test client ══HBONE══► waypoint ══HBONE══► fake ztunnel → TCP echo / HTTP echo / greeter.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { service } from '../helpers/mesh-builders.js';
import { WAYPOINT_SA, WaypointHarness, readUntil } from './waypoint-harness.js';

/** Resolves when the stream is closed, with how it ended. */
function ended(s: Duplex): Promise<'end' | 'reset'> {
  return new Promise((resolve) => {
    let clean = false;
    s.once('end', () => (clean = true));
    s.once('close', () => resolve(clean ? 'end' : 'reset'));
    s.resume();
  });
}

describe('waypoint: TCP and sniffing', () => {
  let h: WaypointHarness;
  const vip = (n: number): string => h.block.vip(n);

  before(async () => {
    h = await WaypointHarness.start(
      [
        { name: 'tcp-echo', n: 1, app: 'tcp', labels: { app: 'tcp-echo' } },
        { name: 'http-echo', n: 2, app: 'http', labels: { app: 'http-echo' } },
        { name: 'greeter', n: 3, app: 'greeter', labels: { app: 'greeter' } },
      ],
      (b) => [
        service({ name: 'tcp-echo', vips: [b.vip(1)], ports: [{ port: 9000, targetPort: 'app', appProtocol: 'tcp' }, { port: 9001, targetPort: 'app' }], waypoint: 'waypoint' }),
        service({ name: 'http-echo', vips: [b.vip(2)], ports: [{ port: 8080, targetPort: 'app' }], waypoint: 'waypoint' }),
        service({ name: 'greeter', vips: [b.vip(3)], ports: [{ port: 25, targetPort: 'app' }], waypoint: 'waypoint' }),
        service({ name: 'nothing', vips: [b.vip(4)], ports: [{ port: 9000, appProtocol: 'tcp' }], selector: { app: 'none' }, waypoint: 'waypoint' }),
      ],
    );
  });

  after(async () => {
    await h.close();
  });

  it('passes TCP through on a tcp port, one access record per connection', async () => {
    const before = h.seen.length;
    const s = await h.tunnel(`${vip(1)}:9000`);
    const payload = 'hello through the waypoint\n'.repeat(1000);
    const got = readUntil(s, (t) => t.length >= payload.length);
    s.write(payload);
    assert.equal(await got, payload);
    const closed = ended(s);
    s.end();
    assert.equal(await closed, 'end');
    const connect = h.seen[before];
    assert.equal(connect?.peerIdentity, h.ca.id('default', WAYPOINT_SA));
    assert.equal(connect?.authority.startsWith(`${h.block.pod(1)}:`), true);
    await eventually(() => h.records.some((r) => r.kind === 'tcp' && r.downstreamLocalAddress === `${vip(1)}:9000`));
    const rec = h.records.find((r) => r.kind === 'tcp' && r.downstreamLocalAddress === `${vip(1)}:9000`);
    assert.equal(rec?.upstreamCluster, 'inbound-vip|9000|tcp|tcp-echo.default.svc.cluster.local');
    assert.equal(rec?.bytesReceived, payload.length);
    assert.equal(rec?.bytesSent, payload.length);
    assert.equal(rec?.responseFlags, '-');
    assert.equal(rec?.sourcePrincipal, h.ca.id('default', 'client'));
  });

  it('sniffs raw bytes on an unknown-protocol port as TCP', async () => {
    const s = await h.tunnel(`${vip(1)}:9001`);
    const got = readUntil(s, (t) => t.includes('\n'));
    s.write('ping 1\n');
    assert.equal(await got, 'ping 1\n');
    s.end();
    await ended(s);
  });

  it('sniffs HTTP on an unknown-protocol port and proxies it as HTTP', async () => {
    const s = await h.tunnel(`${vip(2)}:8080`);
    const got = readUntil(s, (t) => {
      const i = t.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(t);
      return i >= 0 && m !== null && t.length >= i + 4 + Number(m[1]);
    });
    s.write('GET /sniffed HTTP/1.1\r\nHost: http-echo\r\n\r\n');
    const text = await got;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /\r\nserver: istio-envoy\r\n/i);
    const report = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { path: string; headers: Record<string, string> };
    assert.equal(report.path, '/sniffed');
    assert.equal(report.headers['x-envoy-attempt-count'], '1');
    s.end();
    await ended(s);
  });

  it('falls back to TCP after the sniff timeout for a server-first protocol', async () => {
    const s = await h.tunnel(`${vip(3)}:25`);
    const greeting = await readUntil(s, (t) => t.includes('\r\n'));
    assert.equal(greeting, '220 greeter ready\r\n');
    const echoed = readUntil(s, (t) => t.includes('QUIT'));
    s.write('QUIT\r\n');
    assert.equal(await echoed, 'QUIT\r\n');
    s.end();
    await ended(s);
  });

  it('replays bytes a client sent and half-closed with before the protocol was known', async () => {
    const s = await h.tunnel(`${vip(1)}:9001`);
    const got = readUntil(s, () => false);
    s.end('GE');
    assert.equal(await got, 'GE');
  });

  it('resets the tunnel and records UH when the TCP service has no endpoints', async () => {
    const s = await h.tunnel(`${vip(4)}:9000`);
    assert.equal(await ended(s), 'reset');
    await eventually(() => h.records.some((r) => r.kind === 'tcp' && r.downstreamLocalAddress === `${vip(4)}:9000`));
    const rec = h.records.find((r) => r.kind === 'tcp' && r.downstreamLocalAddress === `${vip(4)}:9000`);
    assert.equal(rec?.responseFlags, 'UH');
    assert.equal(rec?.upstreamCluster, 'inbound-vip|9000|tcp|nothing.default.svc.cluster.local');
  });
});
