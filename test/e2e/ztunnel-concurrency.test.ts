/**
 * `ambient ztunnel --concurrency 2 --outbound-fixed ...`, run as its own process in front of the
 * in-process mesh: the fixed-destination listener is shared by both workers, plain HTTP through it
 * reaches the waypoint as the named pod, and since each worker has its own HBONE pool the waypoint
 * sees one connection per worker that served traffic — how a clustered client spreads load over a
 * clustered waypoint.
 */
import assert from 'node:assert/strict';

import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { httpText as get, startRole, workerCounts, type RoleProcess } from '../helpers/role-process.js';

const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const FIXED_PORT = 18080;

describe('ztunnel --concurrency 2 with a fixed-destination listener', () => {
  let mesh: LocalMesh;
  let role: RoleProcess;
  let admin = '';
  let sleepIp = '';

  before(async () => {
    mesh = await startLocalMesh({ skipNodes: ['node-a'] });
    sleepIp = mesh.pod('default', 'sleep').ip;
    admin = mesh.block.node(9);
    role = await startRole(
      ['ztunnel', '--node', 'node-a', '--admin-address', admin, '--concurrency', '2', '--outbound-fixed', `${sleepIp}:${FIXED_PORT}=default/sleep->reviews:9080`, '--config', mesh.config.dir, '--state', mesh.stateDir, '--quiet', '--drain-ms', '1000'],
      { host: admin, port: 15021 },
    );
  });

  after(async () => {
    await role?.stop();
    await mesh?.close();
  });

  it('serves plain HTTP through the waypoint from both workers, one HBONE connection each', async () => {
    const REQUESTS = 12;
    // A new TCP connection per request: node:cluster hands consecutive accepts to alternate workers.
    for (let i = 0; i < REQUESTS; i++) {
      const { status, body } = await get(sleepIp, FIXED_PORT, `/r${i}`);
      assert.equal(status, 200);
      const report = JSON.parse(body) as EchoReport;
      assert.equal(report.path, `/r${i}`);
      assert.equal(report.peer.identity, WAYPOINT_ID);
    }
    await eventually(async () => {
      const { status, body } = await get(admin, 15020, '/stats/prometheus');
      assert.equal(status, 200);
      const counts = workerCounts(body, 'ambient_worker_tcp_connections_opened_total');
      assert.equal(counts.size, 2, body.slice(-400));
      for (const [w, n] of counts) assert.ok(n > 0, `worker ${w} proxied ${n} connections`);
      // Per worker every connection counts, inbound ones too (the waypoint's kept-alive upstream
      // streams to node-a's pods are opened, and counted, while they last); the aggregated
      // outbound series counts exactly the client's connections.
      assert.ok([...counts.values()].reduce((a, b) => a + b, 0) >= REQUESTS);
      const outbound = parseExposition(body).find('istio_tcp_connections_opened_total', { reporter: 'source' });
      assert.equal(outbound.reduce((a, x) => a + x.value, 0), REQUESTS);
    });
    // Each worker's pool opened its own connection to the (in-process) waypoint.
    const wp = mesh.waypoints[0];
    assert.ok(wp);
    assert.equal(wp.stats().server.connectionsTotal, 2);
  });
});
