/**
 * DestinationRule `connectionPool`, `outlierDetection` and `portLevelSettings` into the IR with
 * istiod's validation; the port-level load balancer applied to that port only. Also the
 * VirtualService `corsPolicy` and `tcp` route translations as the route table sees them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestContext, route, routesFrom } from '../helpers/route-table-harness.js';

const DR = (policy: string, name = 'reviews'): string => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: default}
spec:
  host: reviews
  trafficPolicy:
${policy}
---`;

describe('DestinationRule traffic policy', () => {
  it('parses connectionPool, outlierDetection and portLevelSettings into the IR', () => {
    const r = routesFrom(
      DR(`
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 1, maxRetries: 3, idleTimeout: 1h, h2UpgradePolicy: UPGRADE}
    outlierDetection: {consecutive5xxErrors: 7, consecutiveGatewayErrors: 3, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50, minHealthPercent: 30}
    portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {simple: ROUND_ROBIN}
        connectionPool: {tcp: {maxConnections: 5}}
        outlierDetection: {consecutive5xxErrors: 2}`),
    );
    assert.deepEqual(r.diagnostics.map((d) => d.field), []);
    const dr = r.view.snapshot.destinationRules?.[0];
    assert.ok(dr);
    assert.deepEqual(dr.connectionPool, {
      tcp: { maxConnections: 100, connectTimeoutMs: 30, tcpKeepalive: { probes: 9, timeMs: 7_200_000, intervalMs: 75_000 } },
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 1, maxRetries: 3, idleTimeoutMs: 3_600_000, h2UpgradePolicy: 'UPGRADE' },
    });
    assert.deepEqual(dr.outlierDetection, {
      consecutive5xxErrors: 7,
      consecutiveGatewayErrors: 3,
      intervalMs: 300_000,
      baseEjectionTimeMs: 900_000,
      maxEjectionPercent: 50,
      minHealthPercent: 30,
    });
    assert.deepEqual(dr.portLevelSettings, [
      { port: 9080, loadBalancer: 'ROUND_ROBIN', connectionPool: { tcp: { maxConnections: 5 } }, outlierDetection: { consecutive5xxErrors: 2 } },
    ]);
  });

  it('rejects invalid values with a diagnostic naming the field', () => {
    const r = routesFrom(
      DR(`
    connectionPool: {tcp: {maxConnections: -1, connectTimeout: 0s}, http: {h2UpgradePolicy: SOMETIMES}}
    outlierDetection: {maxEjectionPercent: 150, interval: 0s}
    portLevelSettings:
      - {port: {number: 9080}, loadBalancer: {simple: RANDOM}}
      - {port: {number: 9080}, loadBalancer: {simple: ROUND_ROBIN}}`),
    );
    const fields = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.field);
    assert.deepEqual(fields, [
      'spec.trafficPolicy.connectionPool.tcp.maxConnections',
      'spec.trafficPolicy.connectionPool.tcp.connectTimeout',
      'spec.trafficPolicy.connectionPool.http.h2UpgradePolicy',
      'spec.trafficPolicy.outlierDetection.interval',
      'spec.trafficPolicy.outlierDetection.maxEjectionPercent',
      'spec.trafficPolicy.portLevelSettings[1].port.number',
    ]);
  });

  it('applies a port-level load balancer to its port only', () => {
    const { table } = routesFrom(DR(`
    loadBalancer: {simple: LEAST_REQUEST}
    portLevelSettings:
      - {port: {number: 9080}, loadBalancer: {simple: ROUND_ROBIN}}`));
    const picker = route(table('reviews', 9080), '/')?.backends[0]?.picker;
    assert.ok(picker, '9080 takes its port-level ROUND_ROBIN');
    const ctx = requestContext({ path: '/' });
    const seq = [picker.pick(ctx), picker.pick(ctx), picker.pick(ctx)].map((e) => e?.workload.name);
    assert.deepEqual(seq, ['reviews-v1', 'reviews-v2', 'reviews-v1']);
    assert.equal(route(table('reviews', 9090), '/')?.backends[0]?.picker, undefined, '9090 keeps least request');
  });
});

describe('VirtualService corsPolicy and tcp translation', () => {
  const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
    - corsPolicy: {allowOrigins: [{exact: "*"}], maxAge: 90s, allowMethods: [GET]}
      route: [{destination: {host: reviews}}]
  tcp:
    - match: [{port: 9090, sourceLabels: {app: x}}]
      route: [{destination: {host: reviews-v1}, weight: 1}, {destination: {host: reviews-v2}, weight: 3}]
---`;

  it('compiles the CORS policy onto the decision; exact "*" allows any origin, as Envoy', () => {
    const r = routesFrom(VS);
    const cors = route(r.table(), '/')?.cors;
    assert.ok(cors);
    assert.equal(cors.originAllowed('https://anything.example'), true);
    assert.equal(cors.maxAge, '90');
    assert.equal(cors.allowMethods, 'GET');
  });

  it('turns tcp routes into the TCP decision of the matched port only, warning on unapplied match fields', () => {
    const r = routesFrom(VS);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.field),
      ['spec.tcp[0].match[0].sourceLabels'],
    );
    const tcp = r.table('reviews', 9090).routeTcp();
    assert.deepEqual(tcp?.backends.map((b) => [b.cluster, b.weight]), [
      ['inbound-vip|9090|tcp|reviews-v1.default.svc.cluster.local', 1],
      ['inbound-vip|9090|tcp|reviews-v2.default.svc.cluster.local', 3],
    ]);
    assert.equal(r.table('reviews', 9080).routeTcp()?.name, 'default');
  });
});
