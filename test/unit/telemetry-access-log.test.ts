/**
 * Access-log lines field by field: Istio's default Envoy text format and its JSON variant for the
 * waypoint, ztunnel's line for the ztunnel.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { envoyJsonEntry, formatEnvoyJson, formatEnvoyText, formatZtunnelJson, formatZtunnelText } from '../../src/telemetry/access-log.js';
import type { ConnectionRecord } from '../../src/ztunnel/connection-record.js';

const HTTP: AccessRecord = {
  kind: 'http',
  startTime: '2026-11-22T05:00:00.123Z',
  method: 'GET',
  path: '/productpage?x=1',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  responseCodeDetails: 'via_upstream',
  bytesReceived: 0,
  bytesSent: 512,
  durationMs: 7,
  upstreamServiceTimeMs: 5,
  userAgent: 'curl/8.5.0',
  requestId: '2f8e3a52-0a7b-4a6c-9d5e-1b2c3d4e5f60',
  authority: 'reviews:9080',
  upstreamHost: '127.1.0.11:9080',
  upstreamCluster: 'inbound-vip|9080|http|reviews.default.svc.cluster.local',
  downstreamLocalAddress: '127.100.0.10:9080',
  downstreamRemoteAddress: '127.1.0.2:40112',
  routeName: 'default',
};

const TCP: AccessRecord = {
  kind: 'tcp',
  startTime: '2026-11-22T05:00:01.000Z',
  responseFlags: 'UH',
  bytesReceived: 10,
  bytesSent: 0,
  durationMs: 1.6,
  upstreamCluster: 'inbound-vip|9000|tcp|tcp-echo.default.svc.cluster.local',
  downstreamLocalAddress: '127.100.0.12:9000',
  downstreamRemoteAddress: '127.1.0.2:40113',
};

/** Splits an Envoy text line into its fields, keeping quoted fields (with spaces) whole. */
function fields(line: string): string[] {
  return [...line.matchAll(/\[[^\]]*\]|"[^"]*"|\S+/g)].map((m) => m[0]);
}

describe('Envoy text access log (Istio default format)', () => {
  it('prints every field of an HTTP request in Istio\'s order', () => {
    const f = fields(formatEnvoyText(HTTP));
    assert.deepEqual(f, [
      '[2026-11-22T05:00:00.123Z]',
      '"GET /productpage?x=1 HTTP/1.1"',
      '200',
      '-',
      'via_upstream',
      '-',
      '"-"',
      '0',
      '512',
      '7',
      '5',
      '"-"',
      '"curl/8.5.0"',
      '"2f8e3a52-0a7b-4a6c-9d5e-1b2c3d4e5f60"',
      '"reviews:9080"',
      '"127.1.0.11:9080"',
      'inbound-vip|9080|http|reviews.default.svc.cluster.local',
      '-',
      '127.100.0.10:9080',
      '127.1.0.2:40112',
      '-',
      'default',
    ]);
  });

  it('prints a TCP connection with dashes for HTTP-only fields and response code 0', () => {
    assert.equal(
      formatEnvoyText(TCP),
      '[2026-11-22T05:00:01.000Z] "- - -" 0 UH - - "-" 10 0 2 - "-" "-" "-" "-" "-" inbound-vip|9000|tcp|tcp-echo.default.svc.cluster.local - 127.100.0.12:9000 127.1.0.2:40113 - -',
    );
  });

  it('keeps the line splittable when details carry spaces', () => {
    const line = formatEnvoyText({ ...TCP, connectionTerminationDetails: 'read ECONNRESET now' });
    assert.equal(fields(line)[5], 'read_ECONNRESET_now');
  });
});

describe('Envoy JSON access log (Istio keys)', () => {
  it('has exactly Istio\'s keys, sorted, with numbers and nulls as Envoy prints them', () => {
    const o = JSON.parse(formatEnvoyJson(HTTP)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), [
      'authority', 'bytes_received', 'bytes_sent', 'connection_termination_details', 'downstream_local_address',
      'downstream_remote_address', 'duration', 'method', 'path', 'protocol', 'request_id', 'requested_server_name',
      'response_code', 'response_code_details', 'response_flags', 'route_name', 'start_time', 'upstream_cluster',
      'upstream_host', 'upstream_local_address', 'upstream_service_time', 'upstream_transport_failure_reason',
      'user_agent', 'x_forwarded_for',
    ]);
    assert.equal(o['response_code'], 200);
    assert.equal(o['bytes_sent'], 512);
    assert.equal(o['upstream_service_time'], '5');
    assert.equal(o['x_forwarded_for'], null);
    assert.equal(o['response_flags'], '-');
    assert.equal(o['start_time'], '2026-11-22T05:00:00.123Z');
  });

  it('gives TCP records null HTTP fields and response code 0', () => {
    const o = envoyJsonEntry(TCP);
    assert.equal(o.method, null);
    assert.equal(o.path, null);
    assert.equal(o.protocol, null);
    assert.equal(o.response_code, 0);
    assert.equal(o.response_flags, 'UH');
    assert.equal(o.duration, 2);
  });
});

describe('ztunnel access log', () => {
  const rec: ConnectionRecord = {
    id: 1,
    direction: 'inbound',
    startTime: new Date('2026-11-22T05:00:00Z'),
    srcAddr: '127.1.0.3:5000',
    srcWorkload: 'notsleep',
    srcNamespace: 'other',
    srcIdentity: 'spiffe://cluster.local/ns/other/sa/notsleep',
    dstAddr: '127.1.0.13:9080',
    dstHboneAddr: '127.1.0.13:9080',
    dstWorkload: 'ratings-v1',
    dstNamespace: 'default',
    dstIdentity: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
    bytesSent: 0,
    bytesRecv: 0,
    durationMs: 1.2,
    failure: 'L4_POLICY_DENIED',
    responseFlag: 'DENY',
    error: 'denied by allow-default (no allow policy matched)',
  };
  const now = new Date('2026-11-22T05:00:00.500Z');

  it('prints timestamp, level, scope and the connection-complete fields, tab separated', () => {
    const [time, level, scope, message] = formatZtunnelText(rec, now).split('\t');
    assert.equal(time, '2026-11-22T05:00:00.500Z');
    assert.equal(level, 'error');
    assert.equal(scope, 'access');
    assert.equal(
      message,
      'connection complete src.addr=127.1.0.3:5000 src.workload=notsleep src.namespace=other ' +
        'src.identity="spiffe://cluster.local/ns/other/sa/notsleep" dst.addr=127.1.0.13:9080 dst.hbone_addr=127.1.0.13:9080 ' +
        'dst.workload=ratings-v1 dst.namespace=default dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-ratings" ' +
        'direction="inbound" bytes_sent=0 bytes_recv=0 duration="1ms" response_flag=DENY error="denied by allow-default (no allow policy matched)"',
    );
  });

  it('prints the same fields as one JSON object', () => {
    const o = JSON.parse(formatZtunnelJson(rec, now)) as Record<string, unknown>;
    assert.equal(o['message'], 'connection complete');
    assert.equal(o['scope'], 'access');
    assert.equal(o['src.identity'], 'spiffe://cluster.local/ns/other/sa/notsleep');
    assert.equal(o['bytes_sent'], 0);
    assert.equal(o['duration'], '1ms');
    assert.equal(o['response_flag'], 'DENY');
    assert.equal(o['dst.service'], undefined);
  });
});
