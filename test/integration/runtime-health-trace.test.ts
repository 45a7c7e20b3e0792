/**
 * Runtime health metrics beside Istio's (event-loop delay, sockets and descriptors, GC pauses,
 * failed connections by reason) and the admin `/debug/trace` stream of live requests, through a
 * local mesh: real requests, real records, scraped and streamed over real sockets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { AdminServer } from '../../src/admin/admin-server.js';
import { TraceHub } from '../../src/admin/debug-trace.js';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { waypointAdminTarget } from '../../src/admin/waypoint-admin.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { Logger } from '../../src/telemetry/logger.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { ZtunnelTelemetry } from '../../src/telemetry/ztunnel-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { EMPTY_SERVICE_YAML } from '../helpers/mesh-fixtures.js';
import { parseExposition } from '../helpers/prometheus-text.js';

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** An SSE client: collects events until closed. */
class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private buf = '';
  private req: http.ClientRequest | undefined;

  open(url: string, paused = false): Promise<number> {
    return new Promise((resolve, reject) => {
      this.req = http.get(url, (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (paused) res.pause();
        res.on('data', (c: string) => this.feed(c));
        resolve(this.status);
      });
      this.req.on('error', reject);
    });
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ event, data: data.join('\n') });
    }
  }

  requests(): { path: string; status: number; method: string; sourcePrincipal: string }[] {
    return this.events.filter((e) => e.event === 'request').map((e) => JSON.parse(e.data) as { path: string; status: number; method: string; sourcePrincipal: string });
  }

  close(): void {
    this.req?.destroy();
  }
}

describe('runtime health metrics and /debug/trace', () => {
  let mesh: LocalMesh;
  const waypointMetrics = new ProxyMetrics({ processMetrics: true });
  const ztunnelMetrics = new ProxyMetrics();
  const hub = new TraceHub({ maxSubscribers: 2, maxEventsPerSecond: 5, heartbeatMs: 200 });
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };
  const readiness = new ReadinessServer();
  let admin: AdminServer;
  let base = '';

  before(async () => {
    hub.registerInto(waypointMetrics.registry);
    mesh = await startLocalMesh({
      extraFiles: { '90-empty.yaml': EMPTY_SERVICE_YAML },
      waypointAccessLog: () => new WaypointTelemetry({ metrics: waypointMetrics, view, format: 'off', also: hub.publish }).sink,
      ztunnelAccessLog: () => new ZtunnelTelemetry({ metrics: ztunnelMetrics, view, format: 'off' }).sink,
    });
    const waypoint = mesh.waypoints[0];
    assert.ok(waypoint);
    const host = mesh.block.waypoint(1);
    admin = new AdminServer(
      waypointAdminTarget({ ref: { namespace: 'default', name: 'waypoint' }, waypoint, store: mesh.store, certs: mesh.certs, metrics: waypointMetrics, readiness, logger: new Logger({ level: 'error' }), quit: () => undefined, debugTrace: hub }),
    );
    base = `http://${host}:${(await admin.listen(host, 0)).port}`;
  });

  after(async () => {
    await admin?.close(200);
    waypointMetrics.runtime?.close();
    await mesh?.close();
  });

  it('exports event-loop delay, open sockets and descriptors, GC pauses', async () => {
    // Some garbage, so minor GCs happen.
    let keep = 0;
    for (let i = 0; i < 200_000; i++) keep += JSON.stringify({ i, s: 'x'.repeat(20) }).length;
    assert.ok(keep > 0);
    await eventually(async () => {
      const e = parseExposition((await waypointMetrics.exposition()).body);
      const one = (name: string, labels: Record<string, string> = {}): number | undefined =>
        e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
      for (const q of ['0.5', '0.99', 'max']) assert.ok((one('ambient_event_loop_delay_seconds', { quantile: q }) ?? -1) >= 0, `delay ${q}`);
      assert.ok((one('ambient_open_sockets', { kind: 'server' }) ?? 0) >= 1, 'the mesh listens');
      assert.ok((one('ambient_open_sockets', { kind: 'socket' }) ?? -1) >= 0);
      assert.ok((one('ambient_open_fds') ?? 0) > 0);
      assert.ok((one('ambient_max_fds') ?? 0) >= (one('ambient_open_fds') ?? 0));
      assert.ok((one('ambient_gc_pauses_total', { kind: 'minor' }) ?? 0) > 0, 'minor GC pauses are counted');
      assert.ok((one('ambient_gc_pause_seconds_total', { kind: 'minor' }) ?? 0) > 0);
    });
  });

  it('counts failed connections by reason: L4 deny at the ztunnel, no healthy upstream at the waypoint', async () => {
    await assert.rejects(mesh.request(mesh.pod('other', 'notsleep'), 'http://ratings.default:9080/'));
    assert.equal((await mesh.request(mesh.pod('default', 'sleep'), 'http://empty:9080/none')).status, 503);
    await eventually(async () => {
      const z = parseExposition((await ztunnelMetrics.exposition()).body).samples.filter((s) => s.name === 'ambient_failed_connections_total');
      assert.ok(z.some((s) => s.labels['reason'] === 'L4_POLICY_DENIED' && s.labels['response_flag'] === 'DENY' && s.value >= 1), JSON.stringify(z));
      const w = parseExposition((await waypointMetrics.exposition()).body).samples.filter((s) => s.name === 'ambient_failed_connections_total');
      assert.ok(w.some((s) => s.labels['reason'] === 'UH' && s.value >= 1), JSON.stringify(w));
    });
  });

  it('/debug/trace streams the requests matching its filter as server-sent events', async () => {
    const sse = new SseClient();
    assert.equal(await sse.open(`${base}/debug/trace?method=get&path=/traced&status=2xx&principal=spiffe://cluster.local/ns/default/sa/sleep`), 200);
    await eventually(() => assert.equal(hub.subscribers, 1));
    const sleep = mesh.pod('default', 'sleep');
    assert.equal((await mesh.request(sleep, 'http://reviews:9080/traced/one')).status, 200);
    assert.equal((await mesh.request(sleep, 'http://reviews:9080/not-traced')).status, 200);
    assert.equal((await mesh.request(sleep, 'http://reviews:9080/traced/post', { method: 'POST', body: 'x' })).status, 200);
    assert.equal((await mesh.request(sleep, 'http://empty:9080/traced/503')).status, 503);
    await eventually(() => assert.ok(sse.requests().length >= 1));
    const got = sse.requests();
    assert.deepEqual(got.map((r) => [r.method, r.path, r.status, r.sourcePrincipal]), [['GET', '/traced/one', 200, 'spiffe://cluster.local/ns/default/sa/sleep']]);
    sse.close();
    await eventually(() => assert.equal(hub.subscribers, 0));
  });

  it('is bounded: a rate limit drops and says so, the subscriber limit answers 503, bad filters 400', async () => {
    const sse = new SseClient();
    await sse.open(`${base}/debug/trace?path=/burst`);
    const sleep = mesh.pod('default', 'sleep');
    const before = parseExposition((await waypointMetrics.exposition()).body).samples.find((s) => s.name === 'ambient_debug_trace_dropped_total' && s.labels['reason'] === 'rate')?.value ?? 0;
    for (let i = 0; i < 15; i++) assert.equal((await mesh.request(sleep, `http://reviews:9080/burst/${i}`)).status, 200);
    // 5 events a second: most of a fast burst is dropped, counted, and announced in a `dropped` event.
    const droppedSoFar = (): number => sse.events.filter((e) => e.event === 'dropped').reduce((n, e) => n + (JSON.parse(e.data) as { rate: number }).rate, 0);
    // Every request is either sent or announced as dropped (notices go out with the heartbeat).
    await eventually(() => assert.equal(sse.requests().length + droppedSoFar(), 15));
    const dropped = droppedSoFar();
    assert.ok(dropped > 0);
    assert.ok(sse.requests().length >= 5 && sse.requests().length < 15, `sent ${sse.requests().length}`);
    const after = parseExposition((await waypointMetrics.exposition()).body).samples.find((s) => s.name === 'ambient_debug_trace_dropped_total' && s.labels['reason'] === 'rate')?.value ?? 0;
    assert.equal(after - before, dropped);
    const second = new SseClient();
    assert.equal(await second.open(`${base}/debug/trace`), 200);
    const third = new SseClient();
    assert.equal(await third.open(`${base}/debug/trace`), 503);
    const bad = new SseClient();
    assert.equal(await bad.open(`${base}/debug/trace?status=abc`), 400);
    assert.equal(await new SseClient().open(`${base}/debug/trace?colour=red`).then((s) => s), 400);
    for (const c of [sse, second, third, bad]) c.close();
    await eventually(() => assert.equal(hub.subscribers, 0));
  });
});
