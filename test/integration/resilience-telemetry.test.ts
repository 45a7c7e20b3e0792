/**
 * Response flags of resilience features in telemetry (issue 7): after a fault-injected request
 * (FI), a request whose retries ran out (URX) and one retried then served, the waypoint's
 * scraped `/stats/prometheus` carries the `istio_requests_total` series with those
 * `response_flags`, and the Istio text access-log lines show them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PrometheusServer } from '../../src/admin/prometheus-server.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { scrape } from '../helpers/http-text.js';

const FILES = `apiVersion: v1
kind: Service
metadata: {name: flaky, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.46
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: flaky, namespace: default}
spec:
  hosts: [flaky]
  http:
    - match: [{uri: {prefix: /fault}}]
      fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
      route: [{destination: {host: flaky}}]
    - retries: {attempts: 1, retryOn: 5xx}
      route: [{destination: {host: flaky}}]
`;

describe('resilience response flags in metrics and access logs', () => {
  let mesh: LocalMesh;
  const metrics = new ProxyMetrics();
  const log: string[] = [];
  const prometheus = new PrometheusServer(metrics);
  let port = 0;
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };

  before(async () => {
    mesh = await startLocalMesh({
      extraFiles: { '90-flaky.yaml': FILES },
      waypointAccessLog: () => new WaypointTelemetry({ metrics, view, format: 'text', write: (l) => void log.push(l) }).sink,
    });
    port = (await prometheus.listen(mesh.block.waypoint(1), [0]))[0]?.port ?? 0;
    const sleep = mesh.pod('default', 'sleep');
    const key = `tel-${process.pid}-${Date.now()}`;
    assert.equal((await mesh.request(sleep, 'http://flaky:9080/fault/x')).status, 418);
    assert.equal((await mesh.request(sleep, 'http://flaky:9080/exhausted', { headers: { 'x-echo-fail': `${key}-a,5,503` } })).status, 503);
    assert.equal((await mesh.request(sleep, 'http://flaky:9080/retried-ok', { headers: { 'x-echo-fail': `${key}-b,1,503` } })).status, 200);
    await eventually(() => mesh.waypointRecords.length >= 3);
  });

  after(async () => {
    await prometheus.close(200);
    await mesh?.close();
  });

  it('labels istio_requests_total with FI, URX, and - for a retried success', async () => {
    const e = parseExposition(await scrape(mesh.block.waypoint(1), port));
    const base = { reporter: 'waypoint', destination_service_name: 'flaky' };
    const fi = e.find('istio_requests_total', { ...base, response_flags: 'FI' });
    assert.deepEqual(fi.map((s) => [s.labels['response_code'], s.value]), [['418', 1]]);
    assert.equal(fi[0]?.labels['destination_workload'], 'unknown');
    const urx = e.find('istio_requests_total', { ...base, response_flags: 'URX' });
    assert.deepEqual(urx.map((s) => [s.labels['response_code'], s.value]), [['503', 1]]);
    assert.equal(urx[0]?.labels['destination_app'], 'reviews');
    const ok = e.find('istio_requests_total', { ...base, response_code: '200' });
    assert.deepEqual(ok.map((s) => [s.labels['response_flags'], s.value]), [['-', 1]]);
  });

  it('writes the flags in the access-log lines', () => {
    const field = (path: string): string[] => {
      const line = log.find((l) => l.includes(` ${path} HTTP/1.1"`));
      assert.ok(line, log.join(''));
      return [...line.matchAll(/\[[^\]]*\]|"[^"]*"|\S+/g)].map((m) => m[0]);
    };
    assert.deepEqual(field('/fault/x').slice(2, 5), ['418', 'FI', 'fault_filter_abort']);
    assert.deepEqual(field('/exhausted').slice(2, 5), ['503', 'URX', 'via_upstream']);
    assert.deepEqual(field('/retried-ok').slice(2, 5), ['200', '-', 'via_upstream']);
  });
});
