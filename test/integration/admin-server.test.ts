/**
 * The admin API of a waypoint and a ztunnel of the local mesh, endpoint by endpoint: status,
 * content type and shape as Envoy's admin answers, POST-only endpoints refusing GET, readiness
 * flipping with /healthcheck/fail|ok, and /drain_listeners closing the HBONE listener.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminServer } from '../../src/admin/admin-server.js';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { waypointAdminTarget, waypointHealth } from '../../src/admin/waypoint-admin.js';
import { ztunnelAdminTarget } from '../../src/admin/ztunnel-admin.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import { Logger } from '../../src/telemetry/logger.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { parseExposition } from '../helpers/prometheus-text.js';

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

function call(host: string, port: number, method: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('admin API', () => {
  let mesh: LocalMesh;
  const metrics = new ProxyMetrics();
  const readiness = new ReadinessServer();
  const logLines: string[] = [];
  const logger = new Logger({ write: (l) => void logLines.push(l) });
  let quits = 0;
  let admin: AdminServer;
  let ztunnelAdmin: AdminServer;
  let host = '';
  let port = 0;
  let readyPort = 0;
  let zHost = '';
  let zPort = 0;
  const get = (path: string): Promise<Answer> => call(host, port, 'GET', path);
  const post = (path: string): Promise<Answer> => call(host, port, 'POST', path);

  before(async () => {
    mesh = await startLocalMesh({
      waypointAccessLog: () =>
        new WaypointTelemetry({ metrics, view: { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined }, format: 'off' }).sink,
    });
    const waypoint = mesh.waypoints[0];
    assert.ok(waypoint);
    metrics.addHealth(waypointHealth(waypoint, mesh.store));
    host = mesh.block.waypoint(1);
    readyPort = (await readiness.listen(host, 0)).port;
    readiness.setReady();
    admin = new AdminServer(
      waypointAdminTarget({ ref: { namespace: 'default', name: 'waypoint' }, waypoint, store: mesh.store, certs: mesh.certs, metrics, readiness, logger, quit: () => void quits++ }),
    );
    port = (await admin.listen(host, 0)).port;
    const node = mesh.pod('default', 'sleep').node;
    zHost = mesh.block.node(1);
    ztunnelAdmin = new AdminServer(
      ztunnelAdminTarget({
        node,
        ztunnel: mesh.ztunnels.get(node) as NonNullable<ReturnType<typeof mesh.ztunnels.get>>,
        store: mesh.store,
        certs: mesh.certs,
        metrics: new ProxyMetrics(),
        readiness,
        logger,
        quit: () => undefined,
      }),
    );
    zPort = (await ztunnelAdmin.listen(zHost, 0)).port;
    assert.equal((await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/admin-test')).status, 200);
    await eventually(() => mesh.waypointRecords.length >= 1);
  });

  after(async () => {
    await admin?.close(200);
    await ztunnelAdmin?.close(200);
    await readiness.close(200);
    await mesh?.close();
  });

  it('GET /ready answers LIVE', async () => {
    assert.deepEqual(await get('/ready'), { status: 200, type: 'text/plain; charset=UTF-8', body: 'LIVE\n' });
  });

  it('refuses GET on mutating endpoints as Envoy does', async () => {
    for (const path of ['/healthcheck/fail', '/healthcheck/ok', '/logging', '/drain_listeners', '/quitquitquit', '/reset_counters']) {
      const r = await get(path);
      assert.equal(r.status, 405, path);
      assert.equal(r.body, 'Method GET not allowed, POST required.');
    }
  });

  it('POST /healthcheck/fail fails readiness (admin /ready and 15021) until /healthcheck/ok', async () => {
    assert.deepEqual(await post('/healthcheck/fail'), { status: 200, type: 'text/plain; charset=UTF-8', body: 'OK\n' });
    assert.deepEqual(await get('/ready'), { status: 503, type: 'text/plain; charset=UTF-8', body: 'DRAINING\n' });
    assert.equal((await call(host, readyPort, 'GET', '/healthz/ready')).status, 503);
    assert.equal((await post('/healthcheck/ok')).status, 200);
    assert.equal((await get('/ready')).status, 200);
    assert.equal((await call(host, readyPort, 'GET', '/healthz/ready')).status, 200);
  });

  it('GET /stats/prometheus serves the exposition with Istio and health metrics', async () => {
    const r = await get('/stats/prometheus');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
    const e = parseExposition(r.body);
    assert.equal(e.find('istio_requests_total', { reporter: 'waypoint', response_code: '200' }).length, 1);
    assert.equal(e.find('ambient_config_generation')[0]?.value, mesh.store.current().generation);
    assert.equal(e.find('ambient_config_errors')[0]?.value, 0);
    assert.ok((e.find('ambient_hbone_pool_connections')[0]?.value ?? -1) >= 0);
    assert.equal(e.types.get('istio_request_duration_milliseconds'), 'histogram');
  });

  it('GET /stats lists stats as `name: value` lines, and as JSON', async () => {
    const r = await get('/stats');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; charset=UTF-8');
    assert.match(r.body, /^istio_requests_total\{reporter="waypoint",.*response_code="200".*\}: 1$/m);
    assert.match(r.body, /^ambient_config_generation: \d+$/m);
    assert.doesNotMatch(r.body, /_bucket/);
    const j = await get('/stats?format=json');
    assert.equal(j.type, 'application/json');
    const stats = (JSON.parse(j.body) as { stats: { name: string; value: number }[] }).stats;
    assert.ok(stats.some((s) => s.name.startsWith('istio_requests_total{') && s.value === 1));
  });

  it('GET /config_dump shows the served snapshot with origins, generation and diagnostics', async () => {
    const r = await get('/config_dump');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    const dump = JSON.parse(r.body) as { configs: Record<string, unknown>[] };
    const [snap, diags] = dump.configs;
    assert.equal(snap?.['@type'], 'type.googleapis.com/ambient.admin.v1.SnapshotConfigDump');
    assert.equal(snap?.['generation'], mesh.store.current().generation);
    const services = snap?.['services'] as Record<string, { hostname: string; origin: { source: string; line: number } }>;
    assert.equal(services['default/reviews']?.hostname, 'reviews.default.svc.cluster.local');
    assert.match(services['default/reviews']?.origin.source ?? '', /20-reviews\.yaml$/);
    assert.equal(diags?.['@type'], 'type.googleapis.com/ambient.admin.v1.DiagnosticsDump');
    assert.deepEqual(diags?.['diagnostics'], []);
    const one = JSON.parse((await get('/config_dump?resource=waypoints')).body) as { configs: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(one.configs[0] ?? {}), ['@type', 'generation', 'waypoints']);
  });

  it('GET /clusters lists the waypoint\'s inbound-vip clusters and their hosts', async () => {
    const r = await get('/clusters');
    assert.equal(r.type, 'text/plain; charset=UTF-8');
    const reviewsV1 = `${mesh.pod('default', 'reviews-v1').ip}:9080`;
    assert.match(r.body, new RegExp(`^inbound-vip\\|9080\\|http\\|reviews\\.default\\.svc\\.cluster\\.local::${reviewsV1.replace(/\./g, '\\.')}::health_flags::healthy$`, 'm'));
    assert.match(r.body, /^inbound-vip\|9000\|tcp\|tcp-echo\.default\.svc\.cluster\.local::observability_name::/m);
    const j = JSON.parse((await get('/clusters?format=json')).body) as { cluster_statuses: { name: string; host_statuses: { address: { socket_address: { address: string; port_value: number } } }[] }[] };
    const c = j.cluster_statuses.find((x) => x.name === 'inbound-vip|9080|http|reviews.default.svc.cluster.local');
    assert.equal(c?.host_statuses.length, 2);
    assert.equal(c?.host_statuses[0]?.address.socket_address.port_value, 9080);
  });

  it('GET /listeners lists the HBONE listener', async () => {
    assert.equal((await get('/listeners')).body, `connect_terminate::${host}:15008\n`);
    const j = JSON.parse((await get('/listeners?format=json')).body) as unknown;
    assert.deepEqual(j, { listener_statuses: [{ name: 'connect_terminate', local_address: { socket_address: { address: host, port_value: 15008 } } }] });
  });

  it('GET /server_info and /memory answer in Envoy\'s shapes', async () => {
    const info = JSON.parse((await get('/server_info')).body) as { state: string; node: { id: string }; uptime_current_epoch: string };
    assert.equal(info.state, 'LIVE');
    assert.equal(info.node.id, 'waypoint~default/waypoint');
    assert.match(info.uptime_current_epoch, /^\d+s$/);
    const mem = JSON.parse((await get('/memory')).body) as { allocated: string; heap_size: string };
    assert.match(mem.allocated, /^\d+$/);
  });

  it('GET /certs shows the waypoint certificate and the mesh root', async () => {
    const r = await get('/certs');
    assert.equal(r.type, 'application/json');
    type C = { serial_number: string; subject_alt_names: { uri?: string }[]; days_until_expiration: string; expiration_time: string };
    const certs = (JSON.parse(r.body) as { certificates: { ca_cert: C[]; cert_chain: C[] }[] }).certificates;
    assert.equal(certs.length, 1);
    assert.deepEqual(certs[0]?.cert_chain[0]?.subject_alt_names, [{ uri: 'spiffe://cluster.local/ns/default/sa/waypoint' }]);
    assert.match(certs[0]?.cert_chain[0]?.days_until_expiration ?? '', /^\d+$/);
    assert.match(certs[0]?.cert_chain[0]?.serial_number ?? '', /^[0-9a-f]+$/);
    assert.equal(certs[0]?.ca_cert.length, 1);
  });

  it('POST /logging?level= changes every logger, and refuses an unknown level', async () => {
    const r = await post('/logging?level=debug');
    assert.equal(r.status, 200);
    assert.match(r.body, /^active loggers:\n {2}admin: debug\n/);
    assert.ok(logger.enabled('http', 'debug'));
    assert.ok(logLines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'log level changed'));
    assert.equal((await post('/logging?level=loud')).status, 404);
    assert.match((await post('/logging')).body, /http: debug/);
  });

  it('POST /reset_counters zeroes the counters', async () => {
    assert.equal((await post('/reset_counters')).body, 'OK\n');
    const e = parseExposition((await get('/stats/prometheus')).body);
    assert.equal(e.find('istio_requests_total').length, 0);
  });

  it('answers an unknown path with 404 and the list of commands', async () => {
    const r = await get('/nope');
    assert.equal(r.status, 404);
    assert.match(r.body, /^invalid path\. admin commands are:\n/);
    assert.match(r.body, / {2}\/quitquitquit \(POST\): exit the server\n/);
  });

  it('shows a ztunnel\'s listeners per local pod, no clusters, and its workloads\' certificates', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const l = await call(zHost, zPort, 'GET', '/listeners');
    assert.match(l.body, new RegExp(`^hbone_inbound::${sleep.ip.replace(/\./g, '\\.')}:15008$`, 'm'));
    assert.match(l.body, new RegExp(`^socks5_outbound::${sleep.ip.replace(/\./g, '\\.')}:15080$`, 'm'));
    assert.match(l.body, new RegExp(`^plaintext_inbound::${sleep.ip.replace(/\./g, '\\.')}:15006$`, 'm'));
    assert.equal((await call(zHost, zPort, 'GET', '/clusters')).body, '');
    const certs = (JSON.parse((await call(zHost, zPort, 'GET', '/certs')).body) as { certificates: { cert_chain: { subject_alt_names: { uri: string }[] }[] }[] }).certificates;
    assert.ok(certs.some((c) => c.cert_chain[0]?.subject_alt_names[0]?.uri === sleep.identity));
    const info = JSON.parse((await call(zHost, zPort, 'GET', '/server_info')).body) as { node: { id: string } };
    assert.equal(info.node.id, `ztunnel~${sleep.node}`);
  });

  it('POST /quitquitquit replies OK, then asks the process to stop', async () => {
    assert.equal((await post('/quitquitquit')).body, 'OK\n');
    await eventually(() => quits === 1);
  });

  it('POST /drain_listeners stops accepting on the HBONE port', async () => {
    assert.equal(await canConnect(host, 15008), true);
    assert.equal((await post('/drain_listeners')).body, 'OK\n');
    assert.equal(await canConnect(host, 15008), false);
    assert.equal((await get('/listeners')).body, '');
  });
});
