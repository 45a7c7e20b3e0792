/**
 * Drain with real processes (issue 11 §1): two `ambient waypoint --address A` processes serve the
 * two addresses of one Gateway (replicas, as in a Deployment) in front of the in-process local
 * mesh (ztunnels, echo apps), while a client sends steadily through the source ztunnel.
 * - Each replica in turn gets SIGTERM (readiness 503, listeners closed, GOAWAY, in-flight requests
 *   finish, exit 0) and a new process takes its address: zero failed requests.
 * - Config reloads in a row, picked up by both processes from the watched directory: zero failed.
 * - The certificates of the client and destination pods rotate repeatedly (the waypoints verify
 *   new peers, keep open connections): zero failed.
 * The short form runs in `npm test`; `node scripts/drain-soak.mjs` runs the long one (100 reloads,
 * more restarts and rotations) by setting HARDENING_LONG=1. Figures go to stdout as
 * `# hardening-drain-processes figures {...}` for RELIABILITY.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { SpiffeUri } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import { sendHttp, startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { TWO_REPLICA_WAYPOINT_YAML } from '../helpers/mesh-fixtures.js';
import { httpText, startRole, type RoleProcess } from '../helpers/role-process.js';
import { underLoad, type LoadResult, type SteadyLoad } from '../helpers/steady-load.js';

const LONG = process.env['HARDENING_LONG'] === '1';
const RESTART_ROUNDS = LONG ? 3 : 1;
const RELOADS = LONG ? 100 : 20;
const ROTATIONS = LONG ? 10 : 3;
const DRAIN_MS = 10_000;

function routeYaml(n: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-reload, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {set: [{name: x-reload, value: "${n}"}]}
      backendRefs: [{name: reviews, port: 9080}]
`;
}

/** Waits until the load has made `n` more successful requests (progress, not time). */
async function progress(load: SteadyLoad, n: number): Promise<void> {
  const target = load.ok + n;
  await eventually(() => load.ok >= target, 60_000);
}

/** A gauge or the sum of a counter's series in a Prometheus exposition. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

describe('hardening: two waypoint processes, restarts, reloads and rotation under load', () => {
  let mesh: LocalMesh;
  const addresses: string[] = [];
  const replicas: RoleProcess[] = [];
  const figures: Record<string, unknown> = { long: LONG };

  const startReplica = (address: string): Promise<RoleProcess> =>
    startRole(
      [
        'waypoint',
        '--gateway',
        'default/waypoint',
        '--address',
        address,
        '--config',
        mesh.config.dir,
        '--state',
        mesh.stateDir,
        '--quiet',
        '--drain-ms',
        String(DRAIN_MS),
      ],
      { host: address, port: 15021 },
      60_000,
    );

  const scrape = async (address: string): Promise<string> => {
    const r = await httpText(address, 15020, '/stats/prometheus');
    assert.equal(r.status, 200);
    return r.body;
  };

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '10-waypoint.yaml': TWO_REPLICA_WAYPOINT_YAML, '70-reload.yaml': routeYaml(0) }, skipWaypoints: true });
    const wp = mesh.store.current().waypoint('default', 'waypoint');
    assert.ok(wp);
    addresses.push(...wp.addresses);
    assert.equal(addresses.length, 2);
    for (const a of addresses) replicas.push(await startReplica(a));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await mesh?.close();
    process.stdout.write(`# hardening-drain-processes figures ${JSON.stringify(figures)}\n`);
  });

  const sendOne = async (): Promise<number> => {
    const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080).catch((err: unknown) => {
      throw new Error(`connect: ${String(err)}`);
    });
    const res = await sendHttp(socket, new URL('http://reviews:9080/')).catch((err: unknown) => {
      throw new Error(`exchange: ${String(err)}`);
    });
    return res.status;
  };

  it('both processes take traffic', async () => {
    const r = await underLoad(sendOne, (load) => progress(load, 40));
    assert.equal(r.failed, 0, r.failures.join('; '));
    for (const a of addresses) await eventually(async () => assert.ok(metricSum(await scrape(a), 'istio_requests_total') > 0, `replica ${a} served`), 20_000);
  });

  it(`restarting the processes one at a time (${RESTART_ROUNDS} round(s)) fails zero requests`, async () => {
    const exits: (number | null)[] = [];
    const r = await underLoad(sendOne, async (load) => {
      await progress(load, 20);
      for (let round = 0; round < RESTART_ROUNDS; round++) {
        for (let i = 0; i < replicas.length; i++) {
          const address = addresses[i] as string;
          exits.push(await (replicas[i] as RoleProcess).stop());
          replicas[i] = await startReplica(address);
          // The new process is back in rotation before the next one goes down.
          await eventually(async () => assert.ok(metricSum(await scrape(address), 'istio_requests_total') > 0, `new replica ${address} served`), 30_000);
          await progress(load, 20);
        }
      }
    });
    figures.rollingRestart = { ...r, restarts: exits.length };
    assert.deepEqual(
      exits,
      exits.map(() => 0),
      'each process drained and exited 0',
    );
    assert.equal(r.failed, 0, r.failures.join('; '));
  });

  it(`${RELOADS} config reloads in a row fail zero requests; both processes follow them`, async () => {
    const before = await Promise.all(addresses.map(async (a) => metricSum(await scrape(a), 'ambient_config_generation')));
    const r: LoadResult = await underLoad(sendOne, async (load) => {
      await progress(load, 10);
      for (let n = 1; n <= RELOADS; n++) {
        const gen = mesh.store.current().generation;
        mesh.config.write('70-reload.yaml', routeYaml(n));
        await eventually(async () => {
          if (mesh.store.current().generation > gen) return true;
          await mesh.store.reload();
          return mesh.store.current().generation > gen;
        }, 10_000);
        if (n % 10 === 0) await progress(load, 4);
      }
    });
    // Both processes serve the last version (each request lands on one of them).
    await eventually(async () => {
      for (let i = 0; i < 6; i++) {
        const res = await sendHttp(await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080), new URL('http://reviews:9080/last'));
        assert.equal(res.json<EchoReport>().headers['x-reload'], String(RELOADS));
      }
    }, 20_000);
    const afterGen = await Promise.all(addresses.map(async (a) => metricSum(await scrape(a), 'ambient_config_generation')));
    figures.reloads = { ...r, written: RELOADS, processReloads: afterGen.map((g, i) => g - (before[i] ?? 0)) };
    assert.equal(r.failed, 0, r.failures.join('; '));
    for (let i = 0; i < afterGen.length; i++) assert.ok((afterGen[i] ?? 0) > (before[i] ?? 0), `process ${i} reloaded`);
  });

  it(`${ROTATIONS} rotations of the client and destination certificates fail zero requests`, async () => {
    const ids: SpiffeUri[] = [...new Set([mesh.pod('default', 'sleep').identity, mesh.pod('default', 'reviews-v1').identity, mesh.pod('default', 'reviews-v2').identity])];
    const r = await underLoad(sendOne, async (load) => {
      await progress(load, 10);
      for (let i = 0; i < ROTATIONS; i++) {
        for (const id of ids) await mesh.certs.rotateNow(id);
        await progress(load, 8);
      }
    });
    figures.rotations = { ...r, rotations: ROTATIONS, identities: ids.length };
    assert.equal(r.failed, 0, r.failures.join('; '));
  });
});
