/**
 * The per-request shortcuts of the exchange's default path give the same answers as the plain
 * code they replace: header names lower-cased from raw Buffers, the flat downstream header list,
 * and the access record's lazily computed fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { GrpcStats } from '../../src/telemetry/grpc-stats.js';
import { exchangeRecord } from '../../src/waypoint/exchange-record.js';
import { lowerHeaderName } from '../../src/waypoint/header-name.js';
import { downstreamResponseHeaderList, downstreamResponseHeaders, responseHeadersFromRaw } from '../../src/waypoint/proxy-headers.js';

describe('lowerHeaderName', () => {
  it('lower-cases common and uncommon names from Buffers and strings', () => {
    for (const name of ['Content-Type', 'CONTENT-LENGTH', 'server', 'Set-Cookie', 'X-Envoy-Upstream-Service-Time', 'X-Custom', 'Contenu-Type', 'dAtE', 'Grpc-Status', 'a']) {
      assert.equal(lowerHeaderName(Buffer.from(name, 'latin1')), name.toLowerCase(), name);
      assert.equal(lowerHeaderName(name), name.toLowerCase(), name);
    }
  });

  it('does not fold non-letters next to the letter range ([ ] ^ @ `)', () => {
    // Same lengths as `date` and `etag`, bytes one off from letters: never a known name.
    for (const name of ['[ate', 'dat@', '`tag', 'eta^']) assert.equal(lowerHeaderName(Buffer.from(name, 'latin1')), name.toLowerCase());
  });

  it('keeps latin1 bytes as they are', () => {
    assert.equal(lowerHeaderName(Buffer.from([0x58, 0xe9])), 'x\u00e9');
  });
});

describe('downstreamResponseHeaderList', () => {
  it('carries what the object form carries, repeated values as repeated pairs', () => {
    const raw = ['Server', 'nginx', 'Connection', 'x-y', 'X-Y', '1', 'Transfer-Encoding', 'chunked', 'Set-Cookie', 'a', 'set-cookie', 'b', 'X-Ok', '1'].map((s) => Buffer.from(s));
    const map = responseHeadersFromRaw(raw);
    assert.deepEqual(downstreamResponseHeaderList(map, 12), ['set-cookie', 'a', 'set-cookie', 'b', 'x-ok', '1', 'server', 'istio-envoy', 'x-envoy-upstream-service-time', '12']);
    const list = downstreamResponseHeaderList(map, undefined);
    const obj = downstreamResponseHeaders(map, undefined);
    const fromList: Record<string, string | string[]> = {};
    for (let i = 0; i < list.length; i += 2) {
      const [n, v] = [list[i] as string, list[i + 1] as string];
      const prev = fromList[n];
      fromList[n] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
    assert.deepEqual(fromList, obj);
  });
});

describe('exchange record', () => {
  const ctx = (): HttpRequestContext => {
    const headers = new HeaderMap();
    headers.set('user-agent', 'curl/8');
    headers.set('x-forwarded-for', ['127.1.0.31', '127.1.0.32']);
    return new HttpRequestContext({
      method: 'POST',
      authority: 'svc:80',
      path: '/p',
      protocol: 'HTTP/1.1',
      headers,
      requestId: 'rid',
      source: { principal: 'spiffe://a', address: '127.0.0.1', port: 1 },
      destination: { hostname: 'svc.ns.svc.cluster.local', name: 'svc', namespace: 'ns', port: 80, appProtocol: 'http', connectAuthority: '127.100.0.9:80' },
      startTime: Date.UTC(2025, 10, 22, 12, 0, 0, 5),
    });
  };
  const counters = { originalPath: '/p', protocol: 'HTTP/1.1' as const, responseCode: 200, bytesReceived: 4, bytesSent: 7, destinationPrincipal: 'spiffe://b', downstreamLocalAddress: '127.100.0.9:80', downstreamRemoteAddress: '127.0.0.1:1' };

  it('formats the start time and reads request headers when a sink asks', () => {
    const c = ctx();
    c.streamInfo.addResponseFlag('URX');
    c.streamInfo.addResponseFlag('UF');
    const r = exchangeRecord(c, { ...counters, serviceTimeMs: undefined, grpc: undefined });
    assert.equal(r.startTime, '2025-11-22T12:00:00.005Z');
    assert.equal(r.startTime, '2025-11-22T12:00:00.005Z');
    assert.equal(r.userAgent, 'curl/8');
    assert.equal(r.xForwardedFor, '127.1.0.31, 127.1.0.32');
    assert.equal(r.responseFlags, 'UF,URX');
    assert.equal(r.upstreamServiceTimeMs, undefined);
    assert.equal(r.responseCodeDetails, undefined);
    assert.equal(r.grpc, undefined);
    assert.equal(r.requestMessages, undefined);
    assert.equal(r.kind, 'http');
    assert.ok(r.durationMs >= 0);
  });

  it('carries gRPC counts and status only for gRPC requests', () => {
    const g = new GrpcStats();
    g.observeStatus('14');
    const r = exchangeRecord(ctx(), { ...counters, serviceTimeMs: 3, grpc: g });
    assert.equal(r.grpc, true);
    assert.equal(r.grpcStatus, 14);
    assert.equal(r.requestMessages, 0);
    assert.equal(r.responseMessages, 0);
    assert.equal(r.upstreamServiceTimeMs, 3);
  });
});
