/**
 * deploy/local/canary answers as its README says: `ambient curl --from sleep
 * http://helloworld:5000/hello` goes through the waypoint; the HTTPRoute splits 90/10, then 50/50
 * after its weights are edited (the directory is watched), then sends everything to v2; and the
 * waypoint's `istio_requests_total` by `destination_version` shows the same split as the answers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { PrometheusServer } from '../../src/admin/prometheus-server.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { DEPLOY_DIR } from './manifests.js';
import { scrape } from '../helpers/http-text.js';

const CANARY_DIR = path.join(DEPLOY_DIR, 'local', 'canary');
const ROUTE_FILE = '30-canary-route.yaml';

describe('deploy/local/canary: canary splitting on the local mesh', () => {
  let mesh: LocalMesh;
  const metrics = new ProxyMetrics();
  const prometheus = new PrometheusServer(metrics);
  let metricsPort = 0;
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };

  before(async () => {
    mesh = await startLocalMesh({
      configDir: CANARY_DIR,
      random: seededRandom(20),
      waypointAccessLog: () => new WaypointTelemetry({ metrics, view, format: 'off' }).sink,
    });
    const [addr] = await prometheus.listen(mesh.block.waypoint(1), [0]);
    metricsPort = addr?.port ?? 0;
  });

  after(async () => {
    await prometheus.close(100);
    await mesh?.close();
  });

  /** Requests per version as the waypoint's metrics count them (cumulative). */
  async function countedByVersion(): Promise<Map<string, number>> {
    const exp = parseExposition(await scrape(mesh.block.waypoint(1), metricsPort));
    const out = new Map<string, number>();
    for (const s of exp.find('istio_requests_total', { reporter: 'waypoint', destination_service_name: 'helloworld', response_code: '200' })) {
      const v = s.labels['destination_version'] ?? 'unknown';
      out.set(v, (out.get(v) ?? 0) + s.value);
    }
    return out;
  }

  /** Sends n requests as the README's curl does, and counts which version answered. */
  async function send(n: number): Promise<Map<string, number>> {
    const sleep = mesh.pod('default', 'sleep');
    const answered = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await mesh.request(sleep, 'http://helloworld:5000/hello');
      assert.equal(res.status, 200, res.body.toString());
      const pod = res.json<EchoReport>().pod;
      const version = pod === 'default/helloworld-v1' ? 'v1' : pod === 'default/helloworld-v2' ? 'v2' : pod;
      answered.set(version, (answered.get(version) ?? 0) + 1);
    }
    return answered;
  }

  /** Sends n requests and checks the metrics moved exactly as the answers say; returns v2's share. */
  async function step(n: number): Promise<number> {
    const before = await countedByVersion();
    const answered = await send(n);
    const afterCount = await eventually(async () => {
      const now = await countedByVersion();
      const total = [...now.values()].reduce((a, b) => a + b, 0) - [...before.values()].reduce((a, b) => a + b, 0);
      assert.equal(total, n);
      return now;
    });
    for (const v of ['v1', 'v2']) {
      assert.equal((afterCount.get(v) ?? 0) - (before.get(v) ?? 0), answered.get(v) ?? 0, `metrics count ${v} as answered`);
    }
    assert.deepEqual([...answered.keys()].filter((k) => k !== 'v1' && k !== 'v2'), []);
    return (answered.get('v2') ?? 0) / n;
  }

  async function setWeights(v1: number, v2: number): Promise<void> {
    const generation = mesh.store.current().generation;
    const text = mesh.config.read(ROUTE_FILE);
    const weight = (name: string, w: number) => (t: string): string =>
      t.replace(new RegExp(`(name: ${name}\\n\\s+port: 5000\\n\\s+weight: )\\d+`), `$1${w}`);
    const edited = weight('helloworld-v2', v2)(weight('helloworld-v1', v1)(text));
    assert.notEqual(edited, text, 'the route file names both versions with a weight');
    mesh.config.write(ROUTE_FILE, edited);
    await eventually(() => mesh.store.current().generation > generation, 10_000);
  }

  it('the README\'s curl answers from helloworld, through the waypoint', async () => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://helloworld:5000/hello');
    assert.equal(res.status, 200);
    const report = res.json<EchoReport>();
    assert.match(report.pod, /^default\/helloworld-v[12]$/);
    assert.equal(report.peer.identity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  });

  it('90/10 as shipped, then 50/50, then 0/100 after editing the weights, as the metrics show', async () => {
    const ninetyTen = await step(300);
    assert.ok(ninetyTen > 0.04 && ninetyTen < 0.17, `90/10: v2 share ${ninetyTen}`);
    await setWeights(50, 50);
    const fiftyFifty = await step(300);
    assert.ok(fiftyFifty > 0.4 && fiftyFifty < 0.6, `50/50: v2 share ${fiftyFifty}`);
    await setWeights(0, 100);
    assert.equal(await step(50), 1, 'every request reaches v2');
  });
});
