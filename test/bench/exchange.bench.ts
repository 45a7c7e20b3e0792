/**
 * The waypoint's own per-request work around a proxied HTTP/1.1 exchange with default config:
 * the access record every request builds (metrics read it even with logs off), reading the
 * upstream's raw response headers into a header map, and the header list written downstream.
 */
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { exchangeRecord } from '../../src/waypoint/exchange-record.js';
import { downstreamResponseHeaderList, downstreamResponseHeaders, responseHeadersFromRaw, upstreamRequestHeaders } from '../../src/waypoint/proxy-headers.js';
import { nsPerOp, report } from './micro-runner.js';

const headers = HeaderMap.fromNode({
  host: 'reviews.default.svc.cluster.local:9080',
  'user-agent': 'wrk',
  'x-request-id': '6f1c9a52-8d3e-4c1b-9a7e-2b5d4f3c1a09',
  'x-forwarded-proto': 'http',
});
const ctx = new HttpRequestContext({
  method: 'GET',
  authority: 'reviews.default.svc.cluster.local:9080',
  path: '/',
  protocol: 'HTTP/1.1',
  headers,
  requestId: '6f1c9a52-8d3e-4c1b-9a7e-2b5d4f3c1a09',
  source: { principal: 'spiffe://cluster.local/ns/default/sa/sleep', address: '127.1.0.2', port: 40000 },
  destination: { hostname: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default', port: 9080, appProtocol: 'http', connectAuthority: '127.100.0.10:9080' },
});
ctx.streamInfo.routeName = 'default';
ctx.streamInfo.upstreamCluster = 'inbound-vip|9080|http|reviews.default.svc.cluster.local';
ctx.streamInfo.upstreamHost = '127.1.0.11:9080';
ctx.streamInfo.responseCodeDetails = 'via_upstream';

report({
  bench: 'exchange',
  metric: 'access record of a proxied request (logs off: start time not formatted)',
  unit: 'ns/op',
  value: nsPerOp(() =>
    exchangeRecord(ctx, {
      originalPath: '/',
      protocol: 'HTTP/1.1',
      responseCode: 200,
      bytesReceived: 0,
      bytesSent: 612,
      serviceTimeMs: 1,
      destinationPrincipal: 'spiffe://cluster.local/ns/default/sa/default',
      downstreamLocalAddress: '127.100.0.10:9080',
      downstreamRemoteAddress: '127.1.0.2:40000',
      grpc: undefined,
    }),
  ),
});

// nginx's answer to the bench's GET, as undici reports it (names as sent, Buffers).
const raw = ['Server', 'nginx/1.22.1', 'Date', 'Sun, 22 Nov 2026 11:00:00 GMT', 'Content-Type', 'text/plain', 'Content-Length', '3', 'Connection', 'keep-alive'].map((s) => Buffer.from(s, 'latin1'));
report({ bench: 'exchange', metric: 'responseHeadersFromRaw, 5 upstream headers', unit: 'ns/op', value: nsPerOp(() => responseHeadersFromRaw(raw)) });

const response = responseHeadersFromRaw(raw);
report({ bench: 'exchange', metric: 'downstream response headers as an object (HTTP/2)', unit: 'ns/op', value: nsPerOp(() => downstreamResponseHeaders(response, 1)) });
report({ bench: 'exchange', metric: 'downstream response headers as a flat list (HTTP/1.1)', unit: 'ns/op', value: nsPerOp(() => downstreamResponseHeaderList(response, 1)) });
report({ bench: 'exchange', metric: 'upstream request headers', unit: 'ns/op', value: nsPerOp(() => upstreamRequestHeaders(headers, ctx.authority, 1)) });
