/**
 * Config changes and drain on long-lived HTTP/1.1 keep-alive connections (issue 17). A reload
 * reaches the next request on a connection opened before it (each request takes the current
 * snapshot, as in Envoy's connection manager). Drain as Envoy drains: connections keep being served
 * while the waypoint drains, each next response says `connection: close` and its connection ends
 * after it, idle connections stay until the drain ends, and no request runs whose answer could
 * not be sent (no access record with `DC`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { RawClient } from '../helpers/raw-h1-client.js';
import type { EchoReport } from '../../src/apps/echo-server.js';

const RELOAD_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews-h1-reload
  namespace: default
spec:
  parentRefs:
    - group: ""
      kind: Service
      name: reviews
      port: 9080
  rules:
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set:
              - name: x-reload
                value: "new"
      backendRefs:
        - name: reviews
          port: 9080
`;

function report(body: string): EchoReport {
  return JSON.parse(body) as EchoReport;
}

describe('HTTP/1 drain on keep-alive connections', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh();
  });
  after(async () => {
    await mesh?.close();
  });

  it('a config reload reaches the next request on a keep-alive connection opened before it', async () => {
    const c = await RawClient.open(mesh);
    c.socket.write('GET /before-reload HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const [r0] = await c.waitFor(1);
    assert.equal(report(r0?.body ?? '{}').headers['x-reload'], undefined);
    const before = mesh.store.current().generation;
    mesh.config.write('70-h1-reload.yaml', RELOAD_ROUTE);
    await eventually(async () => {
      if (mesh.store.current().generation > before) return true;
      await mesh.store.reload();
      return mesh.store.current().generation > before;
    }, 20_000);
    // The same connection, the next request: the new route's header edit applies.
    c.socket.write('GET /after-reload HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const rs = await c.waitFor(2);
    c.close();
    assert.equal(report(rs[1]?.body ?? '{}').headers['x-reload'], 'new');
  });

  it('serves on through the drain with connection: close, and closes idle connections only at its end', async () => {
    const clients = await Promise.all([RawClient.open(mesh), RawClient.open(mesh), RawClient.open(mesh)]);
    const [busy, late, idle] = clients;
    // Each connection has served a request and is kept alive.
    for (const [i, c] of clients.entries()) c.socket.write(`GET /warm-${i} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
    for (const c of clients) {
      const [r] = await c.waitFor(1);
      assert.equal(r?.status, 200);
      assert.doesNotMatch(r.head, /connection: close/i);
    }
    busy.socket.write('GET /in-flight HTTP/1.1\r\nHost: reviews\r\nx-echo-delay-ms: 300\r\n\r\n');
    // Whether these bytes arrive before or just after the drain begins, the answer is the same.
    const waypoint = mesh.waypoints[0];
    assert.ok(waypoint);
    await waypoint.drainListeners();

    // The request in flight is answered, with connection: close, and that connection ends.
    const rb = await busy.waitFor(2);
    assert.equal(rb[1]?.status, 200);
    assert.match(rb[1]?.head ?? '', /\r\nconnection: close/i);
    await eventually(() => assert.ok(busy.ended, 'the busy connection ended after its answer'), 10_000);

    // A request arriving on a kept-alive connection during the drain is still served.
    late.socket.write('GET /during-drain HTTP/1.1\r\nHost: reviews\r\n\r\n');
    const rl = await late.waitFor(2);
    assert.equal(rl[1]?.status, 200);
    assert.match(rl[1]?.head ?? '', /\r\nconnection: close/i);
    await eventually(() => assert.ok(late.ended), 10_000);

    // The idle one was not closed when the drain began...
    assert.equal(idle.ended, false, 'idle connection closed before the drain ended');
    // ...and is closed at its end, having run nothing more.
    await waypoint.close(200);
    await eventually(() => assert.ok(idle.ended || idle.socket.destroyed), 10_000);
    assert.equal(idle.responses().length, 1);
    for (const c of clients) c.close();

    const flagged = mesh.waypointRecords.filter((r) => r.responseFlags.includes('DC'));
    assert.deepEqual(flagged.map((r) => r.path), []);
    assert.equal((await mesh.waypointRecordFor('/in-flight')).responseCode, 200);
    assert.equal((await mesh.waypointRecordFor('/during-drain')).responseCode, 200);
  });
});
