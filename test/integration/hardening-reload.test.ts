/**
 * Config reloads and certificate rotation under load (issue 11 §1): 100 reloads in a row, each
 * changing the route the waypoint compiles, and repeated rotation of every certificate on the
 * path (client pod, waypoint, destination pods), while a client sends steadily: zero failed
 * requests. A request keeps the snapshot it started with; open TLS connections keep their
 * certificate, new ones get the new one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SpiffeUri } from '../../src/config/ir.js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { underLoad, type LoadResult } from '../helpers/steady-load.js';
import { TWO_REPLICA_WAYPOINT_YAML } from '../helpers/mesh-fixtures.js';

const RELOADS = 100;
const ROTATIONS = 10;

function routeYaml(n: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews-reload
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
                value: "${n}"
      backendRefs:
        - name: reviews
          port: 9080
`;
}

describe('hardening: reloads and certificate rotation under load', () => {
  let mesh: LocalMesh;
  const figures: Record<string, LoadResult & { readonly changes: number }> = {};

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '10-waypoint.yaml': TWO_REPLICA_WAYPOINT_YAML, '70-reload.yaml': routeYaml(0) }, waypointReplicas: true });
  });

  after(async () => {
    await mesh.close();
    process.stdout.write(`# hardening-reload figures ${JSON.stringify(figures)}\n`);
  });

  const sendOne = async (): Promise<number> => (await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/')).status;

  it(`${RELOADS} config reloads in a row under load fail zero requests, and the last one is what serves`, async () => {
    const r = await underLoad(sendOne, async (load) => {
      await eventually(() => load.ok >= 10, 20_000);
      for (let n = 1; n <= RELOADS; n++) {
        const before = mesh.store.current().generation;
        mesh.config.write('70-reload.yaml', routeYaml(n));
        // A file written this instant may be deferred as half-written: rescan until it is taken.
        await eventually(async () => {
          if (mesh.store.current().generation > before) return true;
          await mesh.store.reload();
          return mesh.store.current().generation > before;
        }, 10_000);
        // Let a few requests cross each snapshot rather than swapping faster than anything runs.
        if (n % 10 === 0) {
          const target = load.ok + 4;
          await eventually(() => load.ok >= target, 20_000);
        }
      }
    });
    const last = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/');
    assert.equal(last.json<EchoReport>().headers['x-reload'], String(RELOADS));
    figures.reloads = { ...r, changes: RELOADS };
    assert.equal(r.failed, 0, r.failures.join('; '));
  });

  it(`${ROTATIONS} rotations of every certificate on the path under load fail zero requests`, async () => {
    const view = mesh.store.current();
    const wp = view.waypoint('default', 'waypoint');
    assert.ok(wp);
    const identities: SpiffeUri[] = [wp.identity, mesh.pod('default', 'sleep').identity, mesh.pod('default', 'reviews-v1').identity, mesh.pod('default', 'reviews-v2').identity];
    const serials = new Set<string>();
    const r = await underLoad(sendOne, async (load) => {
      await eventually(() => load.ok >= 10, 20_000);
      for (let i = 0; i < ROTATIONS; i++) {
        for (const id of new Set(identities)) {
          const m = await mesh.certs.rotateNow(id);
          if (id === wp.identity) serials.add(m.certChainPem);
        }
        const target = load.ok + 8;
        await eventually(() => load.ok >= target, 20_000);
      }
    });
    figures.rotations = { ...r, changes: ROTATIONS };
    assert.equal(serials.size, ROTATIONS, 'each rotation issued a new waypoint certificate');
    assert.equal(r.failed, 0, r.failures.join('; '));
  });
});
