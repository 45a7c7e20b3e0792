/**
 * The waypoint's per-request telemetry: resolving the Istio label set of an access record
 * (`WaypointLabeler.request`, cached per peer pair and outcome) and recording it in the metric
 * accumulators (`ProxyMetrics.observeRequest`), as `WaypointTelemetry` does for every request.
 */
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { WaypointLabeler } from '../../src/telemetry/istio-labels.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { routesFrom } from '../helpers/route-table-harness.js';
import { nsPerOp, report } from './micro-runner.js';

const view = routesFrom('').view;
const labeler = new WaypointLabeler(() => view);
const metrics = new ProxyMetrics();
const record: AccessRecord = {
  kind: 'http',
  startTime: new Date().toISOString(),
  method: 'GET',
  path: '/',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  bytesReceived: 0,
  bytesSent: 3,
  durationMs: 1,
  downstreamLocalAddress: '127.100.0.10:9080',
  downstreamRemoteAddress: '127.1.0.2:40000',
  upstreamHost: '127.1.0.11:9080',
  sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/sleep',
  destinationPrincipal: 'spiffe://cluster.local/ns/default/sa/default',
  destinationService: 'reviews.default.svc.cluster.local',
};
report({ bench: 'telemetry', metric: 'label set of a request (cached peer pair)', unit: 'ns/op', value: nsPerOp(() => labeler.request(record)) });
report({
  bench: 'telemetry',
  metric: 'labels + observeRequest (counter, 3 histograms)',
  unit: 'ns/op',
  value: nsPerOp(() => metrics.observeRequest(labeler.request(record), record.durationMs, record.bytesReceived, record.bytesSent)),
});
