/**
 * Istio metrics from records: exact label sets (reporter, peers, service, code, flags), Istio's
 * histogram buckets, a registry per component, and bounded series under a flood of distinct
 * paths and headers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { WaypointLabeler, ZtunnelLabeler } from '../../src/telemetry/istio-labels.js';
import { ISTIO_BYTES_BUCKETS, ISTIO_DURATION_BUCKETS_MS, ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { staticViewSource } from '../../src/state/view-source.js';
import type { ConnectionRecord } from '../../src/ztunnel/connection-record.js';
import { meshView, mutableViewSource, service, waypoint, workload } from '../helpers/mesh-builders.js';
import { parseExposition } from '../helpers/prometheus-text.js';

const sleep = workload({ name: 'sleep', ip: '127.1.9.2', labels: { app: 'sleep' } });
const reviews = workload({ name: 'reviews-v1', ip: '127.1.9.11', serviceAccount: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v1' } });
const wp = waypoint({ name: 'waypoint', addresses: ['127.2.9.1'] });
const reviewsSvc = service({ name: 'reviews', vips: ['127.100.9.10'], ports: [{ port: 9080, name: 'http', appProtocol: 'http' }], waypoint: 'waypoint' });
const grpcSvc = service({ name: 'greeter', vips: ['127.100.9.11'], ports: [{ port: 50051, appProtocol: 'grpc' }], waypoint: 'waypoint' });
const view = meshView({ workloads: [sleep, reviews], services: [reviewsSvc, grpcSvc], waypoints: [wp] });

const OK: AccessRecord = {
  kind: 'http',
  startTime: new Date().toISOString(),
  method: 'GET',
  path: '/',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  bytesReceived: 0,
  bytesSent: 100,
  durationMs: 3,
  upstreamHost: '127.1.9.11:9080',
  downstreamLocalAddress: '127.100.9.10:9080',
  downstreamRemoteAddress: '127.1.9.2:41000',
  sourcePrincipal: sleep.identity,
  destinationService: reviewsSvc.hostname,
  destinationPrincipal: reviews.identity,
};

describe('waypoint labels', () => {
  const labeler = new WaypointLabeler(() => view);

  it('carry Istio\'s full label set for a served request', () => {
    assert.deepEqual(labeler.request(OK).labels, {
      reporter: 'waypoint',
      source_workload: 'sleep',
      source_workload_namespace: 'default',
      source_principal: 'spiffe://cluster.local/ns/default/sa/sleep',
      source_app: 'sleep',
      source_version: 'unknown',
      source_canonical_service: 'sleep',
      source_canonical_revision: 'latest',
      source_cluster: 'Kubernetes',
      destination_workload: 'reviews-v1',
      destination_workload_namespace: 'default',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
      destination_app: 'reviews',
      destination_version: 'v1',
      destination_service: 'reviews.default.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      destination_canonical_service: 'reviews',
      destination_canonical_revision: 'v1',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
    });
  });

  it('say unknown for a destination never reached (503 UH)', () => {
    const { upstreamHost: _h, destinationPrincipal: _p, ...rest } = OK;
    const l = labeler.request({ ...rest, responseCode: 503, responseFlags: 'UH' }).labels;
    assert.equal(l.destination_workload, 'unknown');
    assert.equal(l.destination_principal, 'unknown');
    assert.equal(l.destination_cluster, 'unknown');
    assert.equal(l.destination_service_name, 'reviews');
    assert.equal(l.response_code, '503');
    assert.equal(l.response_flags, 'UH');
  });

  it('keep a verified principal but no workload when the address does not match it', () => {
    const l = labeler.request({ ...OK, downstreamRemoteAddress: '127.1.9.250:1', sourcePrincipal: 'spiffe://cluster.local/ns/x/sa/y' }).labels;
    assert.equal(l.source_workload, 'unknown');
    assert.equal(l.source_principal, 'spiffe://cluster.local/ns/x/sa/y');
  });

  it('report grpc for a service port declared gRPC', () => {
    assert.equal(labeler.request({ ...OK, destinationService: grpcSvc.hostname, downstreamLocalAddress: '127.100.9.11:50051' }).labels.request_protocol, 'grpc');
  });

  it('reuse the previous request\'s label set only when every input is the same', () => {
    const fresh = new WaypointLabeler(() => view);
    const first = fresh.request(OK);
    assert.equal(fresh.request({ ...OK, path: '/other', durationMs: 9 }), first, 'fields that are not labels do not matter');
    // Each input that feeds a label changes the result, also right after a hit.
    const variants: Partial<AccessRecord>[] = [
      { responseCode: 404 },
      { responseFlags: 'UF' },
      { upstreamHost: '127.1.9.250:9080' },
      { downstreamRemoteAddress: '127.1.9.250:41000' },
      { sourcePrincipal: 'spiffe://cluster.local/ns/x/sa/y' },
      { destinationPrincipal: 'spiffe://cluster.local/ns/x/sa/z' },
      { destinationService: grpcSvc.hostname, downstreamLocalAddress: '127.100.9.11:50051' },
      { grpc: true, grpcStatus: 14 },
    ];
    for (const v of variants) {
      const other = fresh.request({ ...OK, ...v });
      assert.notDeepEqual(other.labels, first.labels, JSON.stringify(v));
      assert.equal(fresh.request(OK), first, `back to the first after ${JSON.stringify(v)}`);
    }
  });

  it('never take a service name from a client: an unknown host is unknown', () => {
    assert.equal(labeler.request({ ...OK, destinationService: 'attacker-chosen.example' }).labels.destination_service, 'unknown');
  });
});

describe('ztunnel labels', () => {
  const labeler = new ZtunnelLabeler(() => view);
  const base: ConnectionRecord = {
    id: 1,
    direction: 'inbound',
    startTime: new Date(),
    srcAddr: '127.2.9.1:50000',
    srcIdentity: wp.identity,
    dstAddr: '127.1.9.11:9080',
    dstHboneAddr: '127.1.9.11:9080',
    dstIdentity: reviews.identity,
    bytesSent: 1,
    bytesRecv: 2,
    durationMs: 1,
  };

  it('report destination on inbound, with the waypoint as the source', () => {
    const l = labeler.tcp(base).labels;
    assert.equal(l.reporter, 'destination');
    assert.equal(l.source_workload, 'waypoint');
    assert.equal(l.source_principal, wp.identity);
    assert.equal(l.destination_workload, 'reviews-v1');
    assert.equal(l.request_protocol, 'tcp');
    assert.equal(l.response_flags, '-');
    assert.equal(l.connection_security_policy, 'mutual_tls');
  });

  it('report source on outbound; plain TCP is not mTLS', () => {
    const { dstHboneAddr: _a, dstIdentity: _i, ...rest } = base;
    const l = labeler.tcp({ ...rest, direction: 'outbound', srcAddr: '127.1.9.2:1234', srcIdentity: sleep.identity, responseFlag: 'CONNECT' }).labels;
    assert.equal(l.reporter, 'source');
    assert.equal(l.source_workload, 'sleep');
    assert.equal(l.connection_security_policy, 'unknown');
    assert.equal(l.response_flags, 'CONNECT');
  });
});

describe('ProxyMetrics', () => {
  it('keeps series in its own registry, never the global one', async () => {
    const a = new ProxyMetrics();
    const b = new ProxyMetrics();
    const t = new WaypointTelemetry({ metrics: a, view: staticViewSource(view), format: 'off' });
    t.sink(OK);
    assert.equal(parseExposition((await a.exposition()).body).find('istio_requests_total').length, 1);
    assert.equal(parseExposition((await b.exposition()).body).find('istio_requests_total').length, 0);
    assert.equal(globalRegistry.getSingleMetric('istio_requests_total'), undefined);
  });

  it('reuses one series key per label set, and a new snapshot resolves afresh', () => {
    const source = mutableViewSource(view);
    const labeler = new WaypointLabeler(() => source.current());
    const a = labeler.request(OK);
    assert.equal(labeler.request({ ...OK, path: '/other', downstreamRemoteAddress: '127.1.9.2:5' }), a);
    source.set(meshView({ workloads: [sleep, reviews], services: [reviewsSvc, grpcSvc], waypoints: [wp], generation: 2 }));
    const b = labeler.request(OK);
    assert.notEqual(b, a);
    assert.equal(b.key, a.key);
  });

  it('uses Istio\'s histogram buckets', async () => {
    const m = new ProxyMetrics();
    new WaypointTelemetry({ metrics: m, view: staticViewSource(view), format: 'off' }).sink(OK);
    const e = parseExposition((await m.exposition()).body);
    const les = (name: string): string[] => e.find(name).map((s) => s.labels['le'] as string);
    assert.deepEqual(les('istio_request_duration_milliseconds_bucket'), [...ISTIO_DURATION_BUCKETS_MS.map(String), '+Inf']);
    assert.deepEqual(les('istio_request_bytes_bucket'), [...ISTIO_BYTES_BUCKETS.map(String), '+Inf']);
    assert.deepEqual(les('istio_response_bytes_bucket'), [...ISTIO_BYTES_BUCKETS.map(String), '+Inf']);
    assert.equal(e.find('istio_response_bytes_sum')[0]?.value, 100);
  });

  it('keeps one series under a flood of distinct paths, headers and client ports', async () => {
    const m = new ProxyMetrics();
    const t = new WaypointTelemetry({ metrics: m, view: staticViewSource(view), format: 'off' });
    for (let i = 0; i < 2000; i++) {
      t.sink({ ...OK, path: `/item/${i}?q=${i}`, userAgent: `agent-${i}`, requestId: `id-${i}`, authority: `host-${i}`, xForwardedFor: `10.0.${i % 250}.1`, downstreamRemoteAddress: `127.1.9.2:${10000 + i}` });
    }
    const e = parseExposition((await m.exposition()).body);
    const total = e.find('istio_requests_total');
    assert.equal(total.length, 1);
    assert.equal(total[0]?.value, 2000);
  });

  it('counts requests a throwing filter answered with 500', async () => {
    const m = new ProxyMetrics();
    const t = new WaypointTelemetry({ metrics: m, view: staticViewSource(view), format: 'off' });
    t.sink({ ...OK, responseCode: 500, responseCodeDetails: 'filter_chain_exception' });
    t.sink(OK);
    assert.equal(parseExposition((await m.exposition()).body).find('ambient_filter_errors_total')[0]?.value, 1);
  });

  it('counts a telemetry bug instead of throwing into the data path', async () => {
    const m = new ProxyMetrics();
    const broken = { current: () => { throw new Error('boom'); }, onChange: () => () => undefined };
    const t = new WaypointTelemetry({ metrics: m, view: broken, format: 'off' });
    assert.doesNotThrow(() => t.sink(OK));
    assert.equal(parseExposition((await m.exposition()).body).find('ambient_telemetry_errors_total')[0]?.value, 1);
  });
});
