/**
 * Tracing configured the Istio way at a running waypoint: the mesh config defines OpenTelemetry
 * providers (one OTLP/gRPC, one OTLP/HTTP with a path and a header) and a default provider with
 * 0% sampling; a namespace Telemetry raises sampling to 100% (spans reach the gRPC collector with
 * the right parent links); a Telemetry targeting the waypoint switches to the HTTP provider; and
 * `disableSpanReporting` stops spans while traffic keeps flowing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { OTLP_EXPORT_METHOD, otlpExportMethod } from '../../src/telemetry/otlp-grpc-transport.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly via: 'grpc' | 'http';
  /** OTLP/HTTP JSON only. */
  readonly attributes?: readonly { readonly key: string; readonly value: { readonly stringValue?: string } }[];
}

const hex = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('hex') : typeof b === 'string' ? b : '');

function meshConfig(grpcPort: number, httpPort: number): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultProviders:
      tracing: [otel-grpc]
    defaultConfig:
      tracing:
        sampling: 0
    extensionProviders:
      - name: otel-grpc
        opentelemetry: {service: 127.0.0.1, port: ${grpcPort}}
      - name: otel-http
        opentelemetry:
          service: 127.0.0.1
          port: ${httpPort}
          http:
            path: /custom/traces
            timeout: 2s
            headers: [{name: x-collector-token, value: s3cret}]
`;
}

const SAMPLE_ALL = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: sample-all, namespace: default}
spec:
  tracing:
    - randomSamplingPercentage: 100
`;

const waypointTracing = (entry: string): string => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: waypoint-tracing, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  tracing:
    - ${entry}
`;

describe('tracing from the mesh config and the Telemetry API', () => {
  let mesh: LocalMesh;
  const spans: ReceivedSpan[] = [];
  const httpRequests: { url: string; token: string | undefined }[] = [];
  const grpcServer = new grpc.Server();
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      httpRequests.push({ url: req.url ?? '', token: req.headers['x-collector-token'] as string | undefined });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: ReceivedSpan[] }[] }[] };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, via: 'http' });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  before(async () => {
    const m = otlpExportMethod();
    grpcServer.register(
      OTLP_EXPORT_METHOD,
      (call: grpc.ServerUnaryCall<{ resourceSpans?: { scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }, object>, cb: grpc.sendUnaryData<object>) => {
        for (const rs of call.request.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              const parent = hex(s['parentSpanId']);
              spans.push({ traceId: hex(s['traceId']), spanId: hex(s['spanId']), ...(parent ? { parentSpanId: parent } : {}), via: 'grpc' });
            }
          }
        }
        cb(null, {});
      },
      m.responseSerialize,
      m.requestDeserialize as (b: Buffer) => never,
      'unary',
    );
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    const httpPort = (httpServer.address() as AddressInfo).port;
    mesh = await startLocalMesh({ extraFiles: { '95-mesh.yaml': meshConfig(grpcPort, httpPort) } });
  });

  after(async () => {
    await mesh?.close();
    grpcServer.forceShutdown();
    await new Promise((r) => httpServer.close(r));
  });

  const get = async (path: string, headers: Record<string, string> = {}): Promise<EchoReport> => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, { headers });
    assert.equal(res.status, 200);
    return res.json<EchoReport>();
  };

  it('samples nothing new at the mesh default of 0%', async () => {
    const app = await get('/zero');
    assert.match(String(app.headers['traceparent']), /-00$/);
  });

  it('exports every new trace to the gRPC provider once a Telemetry samples 100%', async () => {
    mesh.config.write('96-sample-all.yaml', SAMPLE_ALL);
    const app = await eventually(async () => {
      const r = await get('/grpc');
      assert.match(String(r.headers['traceparent']), /-01$/);
      return r;
    });
    const [, traceId, spanId] = String(app.headers['traceparent']).split('-');
    const span = await eventually(() => {
      const s = spans.find((x) => x.traceId === traceId);
      assert.ok(s);
      return s;
    });
    assert.equal(span.via, 'grpc');
    assert.equal(span.spanId, spanId, "the app's parent is the waypoint's span");
  });

  it('switches to the HTTP provider (path, header) when a Telemetry targets the waypoint', async () => {
    mesh.config.write('97-waypoint-tracing.yaml', waypointTracing('providers: [{name: otel-http}]'));
    const app = await eventually(async () => {
      const r = await get('/http', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
      const [, , spanId] = String(r.headers['traceparent']).split('-');
      await eventually(() => assert.ok(spans.some((s) => s.spanId === spanId && s.via === 'http')), 3000);
      return r;
    });
    const spanId = String(app.headers['traceparent']).split('-')[2];
    const span = spans.find((s) => s.spanId === spanId);
    assert.equal(span?.parentSpanId, '00f067aa0ba902b7');
    assert.ok(httpRequests.every((r) => r.url === '/custom/traces' && r.token === 's3cret'), JSON.stringify(httpRequests));
  });

  it('adds customTags (literal, request header, environment default) to the spans', async () => {
    mesh.config.write(
      '97-waypoint-tracing.yaml',
      waypointTracing(`providers: [{name: otel-http}]
      customTags:
        team: {literal: {value: payments}}
        tenant: {header: {name: X-Tenant, defaultValue: none}}
        region: {environment: {name: AMBIENT_TEST_UNSET_REGION, defaultValue: local}}`),
    );
    const attrs = await eventually(async () => {
      const r = await get('/tags', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-tenant': 'blue' });
      const spanId = String(r.headers['traceparent']).split('-')[2];
      const span = await eventually(() => {
        const found = spans.find((x) => x.spanId === spanId && x.via === 'http');
        assert.ok(found);
        return found;
      }, 3000);
      const out = Object.fromEntries((span.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
      assert.equal(out['team'], 'payments');
      return out;
    });
    assert.equal(attrs['tenant'], 'blue');
    assert.equal(attrs['region'], 'local');
  });

  it('stops reporting with disableSpanReporting while requests keep flowing', async () => {
    mesh.config.write('97-waypoint-tracing.yaml', waypointTracing('disableSpanReporting: true'));
    await eventually(async () => {
      const r = await get('/off', { traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
      // Off: the caller's context goes through untouched (no waypoint span in between).
      assert.equal(r.headers['traceparent'], '00-11111111111111111111111111111111-2222222222222222-01');
    });
  });
});
