/**
 * Trace context (W3C traceparent, B3 single and multi) and the OTLP/HTTP JSON exporter against a
 * local receiver: spans arrive batched, with the caller's span as parent and Istio's attributes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { OtlpHttpExporter } from '../../src/telemetry/otlp-http-transport.js';
import { SpanExportStats } from '../../src/telemetry/span-exporter.js';
import { registerTracingStats } from '../../src/telemetry/tracing-stats.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { Registry } from 'prom-client';
import { spanFromRecord } from '../../src/telemetry/otlp-span.js';
import { b3Headers, formatTraceparent, parseB3Multi, parseB3Single, parseTraceparent, startSpan } from '../../src/telemetry/trace-context.js';
import { eventually } from '../helpers/eventually.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('trace context', () => {
  it('parses a W3C traceparent and rejects malformed ones', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'k=v'), { traceId: TRACE, spanId: SPAN, sampled: true, tracestate: 'k=v' });
    assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
    for (const bad of [`00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `ff-${TRACE}-${SPAN}-01`, `00-${TRACE.toUpperCase()}-${SPAN}-01`, `00-${TRACE}-${SPAN}-01-extra`, 'garbage', undefined]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
    // A future version may append fields.
    assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-whatever`)?.traceId, TRACE);
  });

  it('parses B3 single and multi headers, widening 64-bit trace ids', () => {
    assert.deepEqual(parseB3Single(`${TRACE}-${SPAN}-1`), { traceId: TRACE, spanId: SPAN, sampled: true });
    assert.deepEqual(parseB3Single(`a3ce929d0e0e4736-${SPAN}`), { traceId: '0000000000000000a3ce929d0e0e4736', spanId: SPAN });
    assert.equal(parseB3Single('0'), undefined);
    assert.deepEqual(parseB3Multi(TRACE, SPAN, '0'), { traceId: TRACE, spanId: SPAN, sampled: false });
    assert.equal(parseB3Multi(TRACE, SPAN, undefined, '1')?.sampled, true);
    assert.equal(parseB3Multi(TRACE, 'xyz'), undefined);
  });

  it('starts a child span of the caller, keeps its sampling decision, and propagates itself as parent', () => {
    const child = startSpan({ traceId: TRACE, spanId: SPAN, sampled: true, tracestate: 'k=v' }, 0);
    assert.equal(child.traceId, TRACE);
    assert.equal(child.parentSpanId, SPAN);
    assert.notEqual(child.spanId, SPAN);
    assert.equal(child.sampled, true);
    assert.equal(formatTraceparent(child), `00-${TRACE}-${child.spanId}-01`);
    assert.deepEqual(b3Headers(child), { 'x-b3-traceid': TRACE, 'x-b3-spanid': child.spanId, 'x-b3-parentspanid': SPAN, 'x-b3-sampled': '1' });
    // No caller decision: the sampling percentage decides.
    assert.equal(startSpan(undefined, 100).sampled, true);
    assert.equal(startSpan(undefined, 0).sampled, false);
    assert.equal(startSpan({ traceId: TRACE, spanId: SPAN }, 1, () => 0.5).sampled, false);
    assert.match(startSpan(undefined, 1).traceId, /^[0-9a-f]{32}$/);
  });
});

const REC: AccessRecord = {
  kind: 'http',
  startTime: '2026-11-22T05:00:00.000Z',
  method: 'GET',
  path: '/productpage',
  protocol: 'HTTP/1.1',
  responseCode: 503,
  responseFlags: 'UH',
  bytesReceived: 0,
  bytesSent: 19,
  durationMs: 4,
  requestId: 'rid-1',
  authority: 'reviews:9080',
  upstreamCluster: 'inbound-vip|9080|http|reviews.default.svc.cluster.local',
  downstreamLocalAddress: '127.100.0.10:9080',
  downstreamRemoteAddress: '127.1.0.2:40000',
  destinationService: 'reviews.default.svc.cluster.local',
};

describe('OTLP/HTTP exporter', () => {
  it('sends batched spans with parent links and Istio attributes to the collector', async () => {
    const bodies: { resourceSpans: { resource: unknown; scopeSpans: { spans: Record<string, unknown>[] }[] }[] }[] = [];
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      let b = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (b += c));
      req.on('end', () => {
        paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        bodies.push(JSON.parse(b) as (typeof bodies)[number]);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const stats = new SpanExportStats();
    const exporter = new OtlpHttpExporter({ endpoint: `http://127.0.0.1:${port}`, serviceName: 'waypoint.default', maxBatch: 2, flushIntervalMs: 20, stats });
    const ctx = startSpan(parseTraceparent(`00-${TRACE}-${SPAN}-01`), 1);
    const id = { canonicalService: 'waypoint', namespace: 'default', nodeId: 'waypoint~default/waypoint' };
    for (let i = 0; i < 3; i++) exporter.export(spanFromRecord(REC, ctx, id));
    await eventually(() => exporter.sent === 3);
    assert.deepEqual({ ...stats }, { sent: 3, dropped: 0, failedBatches: 0 });
    await exporter.close(500);
    server.close();
    assert.deepEqual(paths, ['POST /v1/traces application/json', 'POST /v1/traces application/json']);
    const spans = bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    assert.equal(spans.length, 3);
    const s = spans[0] as Record<string, unknown>;
    assert.equal(s['traceId'], TRACE);
    assert.equal(s['parentSpanId'], SPAN);
    assert.equal(s['spanId'], ctx.spanId);
    assert.equal(s['name'], 'reviews.default.svc.cluster.local:9080/*');
    assert.equal(s['kind'], 2);
    const startNs = BigInt(Date.parse(REC.startTime)) * 1_000_000n;
    assert.equal(s['startTimeUnixNano'], startNs.toString());
    assert.equal(s['endTimeUnixNano'], (startNs + 4_000_000n).toString());
    assert.deepEqual(s['status'], { code: 2 });
    const attrs = new Map((s['attributes'] as { key: string; value: Record<string, string> }[]).map((a) => [a.key, Object.values(a.value)[0]]));
    assert.equal(attrs.get('http.status_code'), '503');
    assert.equal(attrs.get('response_flags'), 'UH');
    assert.equal(attrs.get('guid:x-request-id'), 'rid-1');
    assert.equal(attrs.get('http.url'), 'http://reviews:9080/productpage');
    assert.equal(attrs.get('istio.canonical_service'), 'waypoint');
    assert.equal(attrs.get('upstream_cluster'), 'inbound-vip|9080|http|reviews.default.svc.cluster.local');
  });

  it('never blocks or throws: a full queue and an unreachable collector only count drops', async () => {
    const stats = new SpanExportStats();
    const exporter = new OtlpHttpExporter({ endpoint: 'http://127.0.0.1:1', serviceName: 'x', maxQueue: 2, maxBatch: 10, flushIntervalMs: 10_000, timeoutMs: 500, stats });
    const span = spanFromRecord(REC, startSpan(undefined, 100), { canonicalService: 'w', namespace: 'default', nodeId: 'n' });
    for (let i = 0; i < 5; i++) exporter.export(span);
    assert.equal(exporter.dropped, 3);
    exporter.flush();
    await eventually(() => exporter.dropped === 5);
    await exporter.close(100);
    assert.equal(exporter.sent, 0);
    // The proxy's exporter-health metrics: running totals, on the Prometheus exposition.
    const registry = new Registry();
    registerTracingStats(registry, stats);
    const e = parseExposition(await registry.metrics());
    assert.equal(e.find('ambient_tracing_spans_dropped_total')[0]?.value, 5);
    assert.equal(e.find('ambient_tracing_export_failures_total')[0]?.value, 1);
    assert.equal(e.find('ambient_tracing_spans_exported_total')[0]?.value, 0);
  });
});
