/**
 * Telemetry of the local mesh end to end: requests through client ztunnel → waypoint →
 * destination ztunnel, then a Prometheus scrape of each component, parsed, with exact series and
 * labels (a served request, a 503 UH, a TCP connection through the waypoint, an L4-denied
 * connection at the destination ztunnel), and the waypoint's access-log lines field by field.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { PrometheusServer } from '../../src/admin/prometheus-server.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { ZtunnelTelemetry } from '../../src/telemetry/ztunnel-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { EMPTY_SERVICE_YAML as EMPTY_SERVICE } from '../helpers/mesh-fixtures.js';
import { parseExposition, type Exposition } from '../helpers/prometheus-text.js';


function scrape(host: string, port: number): Promise<{ contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: '/stats/prometheus' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ contentType: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

/** Periodic TCP byte reports, short so a test sees them (Istio's default is 15 s). */
const REPORTING_MS = 100;

describe('telemetry of the local mesh', () => {
  let mesh: LocalMesh;
  const waypointMetrics = new ProxyMetrics();
  const ztunnelMetrics = new Map<string, ProxyMetrics>();
  const waypointLog: string[] = [];
  const prometheus = new PrometheusServer(waypointMetrics);
  let metricsPort = 0;
  // The mesh's store, once started (sinks only run after start).
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };

  before(async () => {
    mesh = await startLocalMesh({
      extraFiles: { '90-empty.yaml': EMPTY_SERVICE },
      waypointAccessLog: () => new WaypointTelemetry({ metrics: waypointMetrics, view, format: 'text', write: (l) => void waypointLog.push(l), tcpReportingIntervalMs: REPORTING_MS }).sink,
      ztunnelAccessLog: (node) => {
        const metrics = new ProxyMetrics();
        ztunnelMetrics.set(node, metrics);
        return new ZtunnelTelemetry({ metrics, view, format: 'off', tcpReportingIntervalMs: REPORTING_MS }).sink;
      },
    });
    const [addr] = await prometheus.listen(mesh.block.waypoint(1), [0]);
    metricsPort = addr?.port ?? 0;

    const sleep = mesh.pod('default', 'sleep');
    for (let i = 0; i < 3; i++) assert.equal((await mesh.request(sleep, 'http://reviews:9080/served')).status, 200);
    assert.equal((await mesh.request(sleep, 'http://empty:9080/nothing-here')).status, 503);
    await assert.rejects(mesh.request(mesh.pod('other', 'notsleep'), 'http://ratings.default:9080/'));
    const tcp = await mesh.connectFrom(sleep, 'tcp-echo', 9000);
    const echoed = new Promise<void>((r) => tcp.on('end', r));
    tcp.resume();
    tcp.end('hello');
    await echoed;
    // Every record is in before any scrape.
    await eventually(() => mesh.waypointRecords.length >= 5 && mesh.ztunnelRecords.some((r) => r.responseFlag === 'DENY'));
  });

  after(async () => {
    await prometheus.close(200);
    await mesh?.close();
  });

  async function waypointScrape(): Promise<Exposition> {
    const r = await scrape(mesh.block.waypoint(1), metricsPort);
    assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    return parseExposition(r.body);
  }

  it('serves Istio request metrics with the full label set at the waypoint', async () => {
    const e = await waypointScrape();
    const sleep = mesh.pod('default', 'sleep');
    const served = e.find('istio_requests_total', { response_code: '200' });
    assert.equal(served.reduce((n, s) => n + s.value, 0), 3);
    for (const s of served) {
      const dst = s.labels['destination_workload'] === mesh.pod('default', 'reviews-v1').workloadName ? mesh.pod('default', 'reviews-v1') : mesh.pod('default', 'reviews-v2');
      assert.deepEqual(s.labels, {
        reporter: 'waypoint',
        source_workload: sleep.workloadName,
        source_workload_namespace: 'default',
        source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
        source_app: 'sleep',
        source_version: sleep.labels['version'] ?? 'unknown',
        source_canonical_service: sleep.canonicalName,
        source_canonical_revision: sleep.canonicalRevision,
        source_cluster: 'Kubernetes',
        destination_workload: dst.workloadName,
        destination_workload_namespace: 'default',
        destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
        destination_app: 'reviews',
        destination_version: dst.labels['version'],
        destination_service: 'reviews.default.svc.cluster.local',
        destination_service_name: 'reviews',
        destination_service_namespace: 'default',
        destination_canonical_service: 'reviews',
        destination_canonical_revision: dst.canonicalRevision,
        destination_cluster: 'Kubernetes',
        request_protocol: 'http',
        response_code: '200',
        grpc_response_status: '',
        response_flags: '-',
        connection_security_policy: 'mutual_tls',
      });
    }
    // Duration, request and response size histograms have the same series.
    assert.equal(e.find('istio_request_duration_milliseconds_count', { response_code: '200' }).reduce((n, s) => n + s.value, 0), 3);
    assert.equal(e.find('istio_response_bytes_count', { response_code: '200' }).reduce((n, s) => n + s.value, 0), 3);
  });

  it('labels a 503 UH with an unknown destination workload', async () => {
    const e = await waypointScrape();
    const uh = e.find('istio_requests_total', { response_flags: 'UH' });
    assert.equal(uh.length, 1);
    assert.equal(uh[0]?.value, 1);
    assert.equal(uh[0]?.labels['response_code'], '503');
    assert.equal(uh[0]?.labels['destination_service'], 'empty.default.svc.cluster.local');
    assert.equal(uh[0]?.labels['destination_service_name'], 'empty');
    assert.equal(uh[0]?.labels['destination_workload'], 'unknown');
    assert.equal(uh[0]?.labels['destination_principal'], 'unknown');
    assert.equal(uh[0]?.labels['source_workload'], mesh.pod('default', 'sleep').workloadName);
  });

  it('counts the TCP connection through the waypoint with its bytes', async () => {
    const e = await waypointScrape();
    const m = { destination_service_name: 'tcp-echo', request_protocol: 'tcp', reporter: 'waypoint' };
    assert.equal(e.find('istio_tcp_connections_opened_total', m)[0]?.value, 1);
    assert.equal(e.find('istio_tcp_connections_closed_total', m)[0]?.value, 1);
    assert.equal(e.find('istio_tcp_received_bytes_total', m)[0]?.value, 5);
    assert.ok((e.find('istio_tcp_sent_bytes_total', m)[0]?.value ?? 0) >= 5);
    assert.equal(e.find('istio_requests_total', { request_protocol: 'tcp' }).length, 0);
  });

  it('counts a long TCP connection as opened while it is open, its bytes as they flow, closed when it ends', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const m = { destination_service_name: 'tcp-echo', request_protocol: 'tcp', reporter: 'waypoint' };
    const sum = (e: Exposition, name: string, match: Record<string, string>): number => e.find(name, match).reduce((n, x) => n + x.value, 0);
    const source = (): Promise<Exposition> => (ztunnelMetrics.get(sleep.node) as ProxyMetrics).exposition().then((r) => parseExposition(r.body));
    const src = { reporter: 'source', destination_service_name: 'tcp-echo' };
    const bytes = async (): Promise<{ wpIn: number; wpOut: number; srcIn: number; srcOut: number }> => {
      const [w, s] = [await waypointScrape(), await source()];
      return {
        wpIn: sum(w, 'istio_tcp_received_bytes_total', m),
        wpOut: sum(w, 'istio_tcp_sent_bytes_total', m),
        srcIn: sum(s, 'istio_tcp_received_bytes_total', src),
        srcOut: sum(s, 'istio_tcp_sent_bytes_total', src),
      };
    };
    const before = { wp: sum(await waypointScrape(), 'istio_tcp_connections_opened_total', m), src: sum(await source(), 'istio_tcp_connections_opened_total', { reporter: 'source' }), bytes: await bytes() };
    const tcp = await mesh.connectFrom(sleep, 'tcp-echo', 9000);
    const firstEcho = new Promise<void>((r) => tcp.once('data', () => r()));
    tcp.write('ping');
    await firstEcho;
    // Open: counted as opened at the waypoint and at the client's ztunnel, not yet closed.
    await eventually(async () => sum(await waypointScrape(), 'istio_tcp_connections_opened_total', m) === before.wp + 1);
    const open = await waypointScrape();
    assert.equal(sum(open, 'istio_tcp_connections_closed_total', m), before.wp);
    assert.equal(sum(await source(), 'istio_tcp_connections_opened_total', { reporter: 'source' }), before.src + 1);
    // Its bytes are reported while it is open (periodic reports), at the waypoint and the source.
    await eventually(async () => {
      const b = await bytes();
      assert.deepEqual([b.wpIn - before.bytes.wpIn, b.wpOut - before.bytes.wpOut, b.srcIn - before.bytes.srcIn, b.srcOut - before.bytes.srcOut], [4, 4, 4, 4]);
    });
    tcp.write('pong!');
    await eventually(async () => assert.equal((await bytes()).wpIn - before.bytes.wpIn, 9));
    const ended = new Promise<void>((r) => tcp.on('end', r));
    tcp.resume();
    tcp.end();
    await ended;
    await eventually(async () => sum(await waypointScrape(), 'istio_tcp_connections_closed_total', m) === before.wp + 1);
    // Closing does not count it as opened a second time, nor its bytes: the totals are its bytes.
    assert.equal(sum(await waypointScrape(), 'istio_tcp_connections_opened_total', m), before.wp + 1);
    await eventually(async () => assert.equal((await bytes()).srcIn - before.bytes.srcIn, 9));
    const after = await bytes();
    assert.deepEqual([after.wpIn - before.bytes.wpIn, after.wpOut - before.bytes.wpOut, after.srcIn - before.bytes.srcIn, after.srcOut - before.bytes.srcOut], [9, 9, 9, 9]);
  });

  it('reports the L4-denied connection at the destination ztunnel (reporter=destination, DENY)', async () => {
    const node = mesh.pod('default', 'ratings-v1').node;
    const e = parseExposition((await (ztunnelMetrics.get(node) as ProxyMetrics).exposition()).body);
    const denied = e.find('istio_tcp_connections_opened_total', { response_flags: 'DENY' });
    assert.equal(denied.length, 1);
    assert.equal(denied[0]?.value, 1);
    assert.equal(denied[0]?.labels['reporter'], 'destination');
    assert.equal(denied[0]?.labels['source_workload'], mesh.pod('other', 'notsleep').workloadName);
    assert.equal(denied[0]?.labels['source_principal'], mesh.pod('other', 'notsleep').identity);
    assert.equal(denied[0]?.labels['destination_workload'], mesh.pod('default', 'ratings-v1').workloadName);
    assert.equal(denied[0]?.labels['connection_security_policy'], 'mutual_tls');
    assert.equal(e.find('istio_tcp_received_bytes_total', { response_flags: 'DENY' })[0]?.value, 0);
  });

  it('reports the client side at the source ztunnel (reporter=source, to the waypoint)', async () => {
    const node = mesh.pod('default', 'sleep').node;
    const e = parseExposition((await (ztunnelMetrics.get(node) as ProxyMetrics).exposition()).body);
    const toWaypoint = e.find('istio_tcp_connections_closed_total', { reporter: 'source', source_workload: mesh.pod('default', 'sleep').workloadName, destination_service_name: 'reviews' });
    assert.equal(toWaypoint.reduce((n, s) => n + s.value, 0), 3);
    assert.equal(toWaypoint[0]?.labels['destination_workload'], 'waypoint');
    assert.equal(toWaypoint[0]?.labels['destination_principal'], 'spiffe://cluster.local/ns/default/sa/waypoint');
  });

  it('writes one Istio text access-log line per request, field by field', () => {
    const line = waypointLog.find((l) => l.includes('/nothing-here'));
    assert.ok(line, waypointLog.join(''));
    const f = [...line.matchAll(/\[[^\]]*\]|"[^"]*"|\S+/g)].map((m) => m[0]);
    assert.equal(f.length, 22);
    assert.match(f[0] as string, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\]$/);
    assert.equal(f[1], '"GET /nothing-here HTTP/1.1"');
    assert.equal(f[2], '503');
    assert.equal(f[3], 'UH');
    assert.equal(f[4], 'no_healthy_upstream');
    assert.match(f[13] as string, /^"[0-9a-f-]{36}"$/);
    assert.equal(f[14], '"empty:9080"');
    assert.equal(f[15], '"-"');
    assert.equal(f[16], 'inbound-vip|9080|http|empty.default.svc.cluster.local');
    assert.equal(f[18], `${mesh.block.vip(30)}:9080`);
    assert.ok(line.endsWith('\n'));
    const ok = waypointLog.find((l) => l.includes('"GET /served HTTP/1.1" 200 - via_upstream'));
    assert.ok(ok);
    assert.match(ok, /"127\.1\.\d+\.1[12]:9080" inbound-vip\|9080\|http\|reviews\.default\.svc\.cluster\.local /);
  });
});
