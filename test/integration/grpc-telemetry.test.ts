/**
 * gRPC through the local mesh's waypoint: an HTTP/2 prior-knowledge gRPC-shaped call (the echo
 * app answers its frames back and ends with `grpc-status` trailers) and a gRPC call the waypoint
 * answers itself (no endpoints: a trailers-only UNAVAILABLE). The access record and the scraped
 * Istio metrics carry `request_protocol="grpc"`, `grpc_response_status` and the message counts.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { EMPTY_SERVICE_YAML as EMPTY_SERVICE } from '../helpers/mesh-fixtures.js';
import { parseExposition } from '../helpers/prometheus-text.js';


function frame(payload: string): Buffer {
  const p = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(p.length, 1);
  return Buffer.concat([head, p]);
}

interface GrpcResult {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One gRPC-shaped call over h2c from a pod, the body written in uneven pieces. */
async function grpcCall(mesh: LocalMesh, from: WorkloadIR, host: string, body: Buffer): Promise<GrpcResult> {
  const socket = await mesh.connectFrom(from, host, 9080);
  const session = http2.connect(`http://${host}:9080`, { createConnection: () => socket });
  try {
    return await new Promise<GrpcResult>((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', 'content-type': 'application/grpc', te: 'trailers' });
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => (headers = h));
      req.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = t));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve({ status: Number(headers[':status']), headers, trailers, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      req.write(body.subarray(0, 3));
      req.write(body.subarray(3, 11));
      req.end(body.subarray(11));
    });
  } finally {
    session.close();
    socket.destroy();
  }
}

describe('gRPC telemetry through the waypoint', () => {
  let mesh: LocalMesh;
  const metrics = new ProxyMetrics();
  const view: ViewSource = { current: (): MeshView => mesh.store.current(), onChange: () => () => undefined };
  const body = Buffer.concat([frame('one'), frame(''), frame('three')]);
  let served: GrpcResult;
  let unavailable: GrpcResult;

  before(async () => {
    mesh = await startLocalMesh({
      extraFiles: { '90-empty.yaml': EMPTY_SERVICE },
      waypointAccessLog: () => new WaypointTelemetry({ metrics, view, format: 'off' }).sink,
    });
    const sleep = mesh.pod('default', 'sleep');
    served = await grpcCall(mesh, sleep, 'reviews', body);
    unavailable = await grpcCall(mesh, sleep, 'empty', body);
    await eventually(() => mesh.waypointRecords.filter((r) => r.grpc).length >= 2);
  });

  after(async () => {
    await mesh?.close();
  });

  it('proxies the call: frames echoed, grpc-status trailers forwarded', () => {
    assert.equal(served.status, 200);
    assert.deepEqual(served.body, body);
    assert.equal(served.trailers['grpc-status'], '0');
    assert.equal(unavailable.status, 200);
    assert.equal(unavailable.headers['grpc-status'], '14');
  });

  it('records gRPC, the status from trailers or local-reply headers, and the message counts', () => {
    const ok = mesh.waypointRecords.find((r) => r.grpc && r.upstreamHost !== undefined && r.responseFlags === '-');
    assert.ok(ok);
    assert.equal(ok.protocol, 'HTTP/2');
    assert.equal(ok.grpcStatus, 0);
    assert.equal(ok.requestMessages, 3);
    assert.equal(ok.responseMessages, 3);
    const uh = mesh.waypointRecords.find((r) => r.grpc && r.responseFlags === 'UH');
    assert.ok(uh);
    assert.equal(uh.grpcStatus, 14);
    assert.equal(uh.responseMessages, 0);
  });

  it('exports request_protocol="grpc", grpc_response_status and the message counters', async () => {
    const e = parseExposition((await metrics.exposition()).body);
    const ok = e.find('istio_requests_total', { request_protocol: 'grpc', response_flags: '-' });
    assert.equal(ok.length, 1);
    assert.equal(ok[0]?.labels['grpc_response_status'], '0');
    assert.equal(ok[0]?.labels['response_code'], '200');
    assert.equal(e.find('istio_request_messages_total', { request_protocol: 'grpc', response_flags: '-' })[0]?.value, 3);
    assert.equal(e.find('istio_response_messages_total', { request_protocol: 'grpc', response_flags: '-' })[0]?.value, 3);
    const uh = e.find('istio_requests_total', { request_protocol: 'grpc', response_flags: 'UH' });
    assert.equal(uh[0]?.labels['grpc_response_status'], '14');
    assert.equal(e.find('istio_requests_total', { request_protocol: 'http' }).length, 0);
  });
});
