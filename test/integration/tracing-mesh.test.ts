/**
 * Tracing across the local mesh's waypoint: a local OTLP/HTTP receiver gets the waypoint's span
 * for each sampled request, parented on the caller's span (W3C `traceparent` or B3), and the echo
 * app behind the waypoint sees a context whose parent is the waypoint's span.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { OtlpHttpExporter } from '../../src/telemetry/otlp-http-transport.js';
import type { OtlpSpan } from '../../src/telemetry/otlp-span.js';
import { WaypointTracer, waypointSpanIdentity } from '../../src/telemetry/waypoint-tracer.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

interface ExportRequest {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const B3_TRACE = '80f198ee56343ba864fe8b2a57d3eff7';
const B3_PARENT = 'e457b5a2e4d86bd1';

function attrs(span: OtlpSpan): Map<string, string> {
  return new Map(span.attributes.map((a) => [a.key, 'stringValue' in a.value ? a.value.stringValue : a.value.intValue]));
}

describe('tracing through the waypoint', () => {
  let mesh: LocalMesh;
  const spans: OtlpSpan[] = [];
  const paths: string[] = [];
  const exporters: OtlpHttpExporter[] = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? ''}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let w3c: EchoReport;
  let b3: EchoReport;
  let fresh: EchoReport;

  before(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    mesh = await startLocalMesh({
      waypointTracer: (wp) => {
        const exporter = new OtlpHttpExporter({ endpoint, serviceName: `${wp.name}.${wp.namespace}`, flushIntervalMs: 20 });
        exporters.push(exporter);
        // 0%: new traces are not sampled; callers' decisions are followed.
        return new WaypointTracer({ exporter, samplingPercent: 0, identity: waypointSpanIdentity(wp.namespace, wp.name, '127.0.0.1') });
      },
    });
    const sleep = mesh.pod('default', 'sleep');
    w3c = (await mesh.request(sleep, 'http://reviews:9080/w3c', { headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=x' } })).json<EchoReport>();
    b3 = (await mesh.request(sleep, 'http://reviews:9080/b3', { headers: { 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': B3_PARENT, 'x-b3-sampled': '1' } })).json<EchoReport>();
    fresh = (await mesh.request(sleep, 'http://reviews:9080/fresh')).json<EchoReport>();
    await eventually(() => spans.length >= 2);
  });

  after(async () => {
    await mesh?.close();
    await Promise.all(exporters.map((e) => e.close(200)));
    await new Promise((r) => receiver.close(r));
  });

  it('exports the waypoint span as a child of the incoming traceparent, with Istio attributes', () => {
    assert.ok(paths.every((p) => p === 'POST /v1/traces application/json'), paths.join());
    const span = spans.find((s) => s.traceId === TRACE);
    assert.ok(span);
    assert.equal(span.parentSpanId, PARENT);
    assert.equal(span.kind, 2);
    const a = attrs(span);
    const rec = mesh.waypointRecords.find((r) => r.path === '/w3c');
    assert.ok(rec);
    assert.equal(a.get('guid:x-request-id'), rec.requestId);
    assert.equal(a.get('http.method'), 'GET');
    assert.equal(a.get('http.url'), 'http://reviews:9080/w3c');
    assert.equal(a.get('http.protocol'), 'HTTP/1.1');
    assert.equal(a.get('http.status_code'), '200');
    assert.equal(a.get('response_flags'), '-');
    assert.equal(a.get('upstream_cluster'), 'inbound-vip|9080|http|reviews.default.svc.cluster.local');
    assert.equal(a.get('upstream_address'), rec.upstreamHost);
    assert.equal(a.get('istio.canonical_service'), 'waypoint');
    assert.equal(a.get('istio.namespace'), 'default');
    assert.equal(a.get('node_id'), 'router~127.0.0.1~waypoint.default~default.svc.cluster.local');
    assert.equal(a.get('peer.address'), mesh.pod('default', 'sleep').ip);
  });

  it('hands the app a traceparent (and tracestate) whose parent is the waypoint span', () => {
    const span = spans.find((s) => s.traceId === TRACE);
    assert.equal(w3c.headers['traceparent'], `00-${TRACE}-${span?.spanId}-01`);
    assert.equal(w3c.headers['tracestate'], 'vendor=x');
    assert.equal(w3c.headers['x-b3-traceid'], undefined);
  });

  it('continues a B3 context and propagates B3 upstream too', () => {
    const span = spans.find((s) => s.traceId === B3_TRACE);
    assert.ok(span);
    assert.equal(span.parentSpanId, B3_PARENT);
    assert.equal(b3.headers['x-b3-traceid'], B3_TRACE);
    assert.equal(b3.headers['x-b3-spanid'], span.spanId);
    assert.equal(b3.headers['x-b3-parentspanid'], B3_PARENT);
    assert.equal(b3.headers['x-b3-sampled'], '1');
    assert.equal(b3.headers['traceparent'], `00-${B3_TRACE}-${span.spanId}-01`);
  });

  it('starts a new trace when none came, sampled by percentage (0% here: propagated, not exported)', async () => {
    const tp = fresh.headers['traceparent'];
    assert.equal(typeof tp, 'string');
    assert.match(tp as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    await Promise.all(exporters.map((e) => e.close(200)));
    assert.equal(spans.filter((s) => s.traceId === (tp as string).slice(3, 35)).length, 0);
    assert.equal(spans.length, 2);
  });
});
