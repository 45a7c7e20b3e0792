/**
 * The CONNECT the waypoint opens toward a destination ztunnel, seen by a stand-in for node-b's
 * ztunnel (a real HBONE server on the pod's address): `:authority` is the endpoint, and, with
 * istiod's AMBIENT_ENABLE_BAGGAGE behaviour on (`connectBaggage`), one `baggage` header with the
 * waypoint's own metadata; never `forwarded` or `traceparent` (istiod configures neither there).
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { HboneServer } from '../../src/hbone/server.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

describe('waypoint CONNECT headers toward the destination', () => {
  let mesh: LocalMesh;
  let server: HboneServer;
  const seen: { authority: string | undefined; headers: IncomingHttpHeaders }[] = [];

  before(async () => {
    mesh = await startLocalMesh({ skipNodes: ['node-b'], waypointConnectBaggage: true });
    const v2 = mesh.pod('default', 'reviews-v2');
    server = new HboneServer({
      certSource: mesh.certs,
      identityFor: (addr) => (addr === v2.ip ? v2.identity : undefined),
      handler: (c) => {
        seen.push({ authority: c.headers[':authority'], headers: c.headers });
        const s = c.accept({});
        let head = '';
        s.on('data', (d: Buffer) => {
          head += d.toString('latin1');
          if (head.includes('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nstandin');
        });
        s.on('error', () => undefined);
      },
    });
    await server.addListener(v2.ip, 15008);
  });
  after(async () => {
    await server?.close(500);
    await mesh?.close();
  });

  it('carries baggage with the waypoint metadata, and no forwarded or traceparent', async () => {
    const sleep = mesh.pod('default', 'sleep');
    await eventually(async () => {
      const res = await mesh.request(sleep, `http://reviews:9080/x${seen.length}`);
      assert.equal(res.body.toString(), 'standin', 'not yet balanced to the stand-in');
    }, 20_000, 10);
    const c = seen[0];
    assert.ok(c);
    assert.equal(c.authority, `${mesh.pod('default', 'reviews-v2').ip}:9080`);
    assert.equal(c.headers['baggage'], 'k8s.namespace.name=default,k8s.deployment.name=waypoint,service.name=waypoint');
    assert.equal(c.headers['forwarded'], undefined);
    assert.equal(c.headers['traceparent'], undefined);
  });
});
