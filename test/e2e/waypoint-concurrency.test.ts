/**
 * `ambient waypoint --concurrency 2`, run as users run it (its own process, with node:cluster
 * workers), in front of the in-process local mesh: both workers serve, and load spreads across
 * them although HBONE multiplexes requests over few long-lived connections. The spreading unit is
 * the HBONE connection (each client ztunnel, each source pod opens its own); the primary's
 * aggregated Prometheus endpoint shows per-worker request counts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Duplex } from 'node:stream';
import { HbonePool } from '../../src/hbone/pool.js';
import { eventually } from '../helpers/eventually.js';
import { mustTunnel } from '../helpers/hbone-tunnel.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { CLI, httpText, startRole, workerCounts, type RoleProcess } from '../helpers/role-process.js';

/** One HTTP/1.1 request on a tunnel; resolves with the status line's code. */
function requestOver(stream: Duplex, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = '';
    stream.on('data', (d: Buffer) => (got += d.toString('latin1')));
    stream.once('error', reject);
    stream.once('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    stream.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  });
}

describe('waypoint --concurrency 2', () => {
  let mesh: LocalMesh;
  let role: RoleProcess;
  let wpIp = '';

  before(async () => {
    mesh = await startLocalMesh({ skipWaypoints: true });
    const wp = [...mesh.store.current().snapshot.waypoints.values()][0];
    assert.ok(wp);
    wpIp = wp.addresses[0] ?? '';
    role = await startRole(['waypoint', '--gateway', `${wp.namespace}/${wp.name}`, '--concurrency', '2', '--config', mesh.config.dir, '--state', mesh.stateDir, '--quiet', '--drain-ms', '1000'], { host: wpIp, port: 15021 });
  });

  after(async () => {
    await role?.stop();
    await mesh?.close();
  });

  it('spreads HBONE connections, and so requests, across both workers', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const reviews = [...mesh.store.current().snapshot.services.values()].find((s) => s.name === 'reviews' && s.namespace === 'default');
    assert.ok(reviews?.vips[0]);
    const source = await mesh.certs.certificate(sleep.identity);
    const identity = mesh.store.current().waypoint('default', 'waypoint')?.identity;
    assert.ok(identity);
    // Eight client "ztunnels": each pool opens its own connection, each carries four requests.
    const CONNECTIONS = 8;
    const PER_CONNECTION = 4;
    const pools = Array.from({ length: CONNECTIONS }, () => new HbonePool({ trust: mesh.certs }));
    try {
      await Promise.all(
        pools.map(async (pool, i) => {
          for (let r = 0; r < PER_CONNECTION; r++) {
            const stream = mustTunnel(
              await pool.dial({ source, expectedIdentities: [identity], address: wpIp, port: 15008, localAddress: sleep.ip, authority: `${reviews.vips[0]}:9080` }),
            );
            assert.equal(await requestOver(stream, 'reviews', `/c${i}/r${r}`), 200);
          }
        }),
      );
      for (const pool of pools) assert.equal(pool.stats().connections, 1);
    } finally {
      await Promise.all(pools.map((p) => p.close(200)));
    }
    await eventually(async () => {
      const { status, body } = await httpText(wpIp, 15020, '/stats/prometheus');
      assert.equal(status, 200);
      const counts = workerCounts(body, 'ambient_worker_http_requests_total');
      assert.equal(counts.size, 2, body.slice(-600));
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      assert.equal(total, CONNECTIONS * PER_CONNECTION);
      // Round-robin of accepted connections: neither worker is left idle.
      for (const [w, n] of counts) assert.ok(n >= PER_CONNECTION, `worker ${w} served ${n} of ${total}`);
      // The aggregated series sum the workers.
      const aggregated = [...body.matchAll(/^istio_requests_total\{[^}]*response_code="200"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      assert.equal(aggregated, total);
    });
  });

  it('serves the admin API from worker 1 and stops every worker on SIGTERM', async () => {
    const admin = await httpText(wpIp, 15000, '/server_info');
    assert.equal(admin.status, 200);
    assert.equal(await role.stop(), 0);
    assert.match(role.stderr(), /2 workers ready/);
  });

  it('stops with exit 1 when its workers cannot start (the HBONE address is taken)', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve, reject) => {
      squatter.once('error', reject);
      squatter.listen({ host: wpIp, port: 15008, exclusive: true }, () => resolve());
    });
    try {
      let err = '';
      const second = spawn(process.execPath, [CLI, 'waypoint', '--gateway', 'default/waypoint', '--concurrency', '2', '--config', mesh.config.dir, '--state', mesh.stateDir, '--quiet', '--drain-ms', '500'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      second.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', (c) => resolve(c)));
      assert.equal(code, 1, err);
      assert.match(err, /before the role was ready/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
