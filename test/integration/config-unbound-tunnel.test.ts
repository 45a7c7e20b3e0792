/**
 * An open tunnel whose Service port is no longer bound to the waypoint fails closed: once the
 * Service is unbound from the waypoint or deleted, the next request on a long-lived HTTP/1.1
 * keep-alive connection gets what a new tunnel gets from the listener (400
 * `hbone_service_not_bound`) with `connection: close`, never the old routes and policies. On
 * HTTP/2 the request gets the same answer and the session is closed with GOAWAY.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { RawClient } from '../helpers/raw-h1-client.js';

const FILE = '75-bound.yaml';
const SERVICE = reviewsServiceYaml('bound', '127.100.0.80');

/** An ALLOW policy on the Service: only what the old config allowed would pass it. */
const ALLOW_YAML = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bound-allow, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: bound}]
  action: ALLOW
  rules: [{to: [{operation: {paths: ["/allowed"]}}]}]
`;

describe('a tunnel whose Service is no longer bound to the waypoint', () => {
  let mesh: LocalMesh;

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { [FILE]: SERVICE, '76-allow.yaml': ALLOW_YAML } });
  });

  after(async () => {
    await mesh.close();
  });

  async function apply(yaml: string): Promise<void> {
    const before = mesh.store.current().generation;
    mesh.config.write(FILE, yaml);
    await eventually(async () => {
      if (mesh.store.current().generation > before) return true;
      await mesh.store.reload();
      return mesh.store.current().generation > before;
    }, 10_000);
  }

  const get = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: bound:9080\r\n\r\n`;

  const cases = [
    ['unbound from the waypoint', SERVICE.replace('labels: {istio.io/use-waypoint: waypoint}', 'labels: {}')],
    ['deleted', '# the Service is gone\n'],
  ] as const;

  for (const [what, yaml] of cases) {
    it(`${what}: the next request on the open connection is refused 400 and the connection ends`, async () => {
      const client = RawClient.over(await mesh.connectFrom(mesh.pod('default', 'sleep'), 'bound', 9080));
      try {
        client.socket.write(get('/allowed'));
        const [ok] = await client.waitFor(1);
        assert.equal(ok?.status, 200, 'served under the old config');
        assert.doesNotMatch(ok?.head ?? '', /connection: close/i);
        client.socket.write(get('/other'));
        assert.equal((await client.waitFor(2))[1]?.status, 403, 'the old ALLOW policy applies while bound');

        await apply(yaml);
        client.socket.write(get('/allowed'));
        const refused = (await client.waitFor(3))[2];
        assert.equal(refused?.status, 400, 'what a new tunnel would get, not the old ALLOW');
        assert.match(refused?.head ?? '', /\r\nconnection: close/i);
        assert.equal(refused?.body, 'destination is not served by this waypoint');
        await eventually(() => assert.ok(client.ended, 'the waypoint ended the connection'), 10_000);
        await eventually(() => {
          const r = mesh.waypointRecords.findLast((x) => x.path === '/allowed');
          assert.equal(r?.responseCode, 400);
          assert.equal(r?.responseCodeDetails, 'hbone_service_not_bound');
        }, 10_000);
      } finally {
        client.close();
        await apply(SERVICE);
      }
    });
  }

  it('HTTP/2: the next stream is refused 400 and the session gets GOAWAY', async () => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'bound', 9080);
    const session = http2.connect('http://bound:9080', { createConnection: () => socket });
    session.on('error', () => undefined);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    const get = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':path': path, ':authority': 'bound:9080' }, { endStream: true });
        let status = 0;
        let body = '';
        req.setEncoding('utf8');
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', (c: string) => (body += c));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
      });
    try {
      assert.equal((await get('/allowed')).status, 200);
      await apply(cases[0][1]);
      const refused = await get('/allowed');
      assert.equal(refused.status, 400);
      assert.equal(refused.body, 'destination is not served by this waypoint');
      await eventually(() => assert.ok(goaway, 'the waypoint sent GOAWAY'), 10_000);
    } finally {
      session.destroy();
      socket.destroy();
      await apply(SERVICE);
    }
  });
});
