/**
 * TLS routes (VirtualService `tls`, TLSRoute): YAML in → IR → compiled table → the TCP decision
 * for a server name. Match entries are ORed, each entry's port and sniHosts ANDed; bad input is a
 * diagnostic naming the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routesFrom } from '../helpers/route-table-harness.js';

const VS = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  tls:
    - match: [{port: 9090, sniHosts: [admin.example]}, {port: 9080, sniHosts: ["*.v2.example"]}]
      route: [{destination: {host: reviews-v2}}]
  tcp:
    - route: [{destination: {host: reviews-v1}}]
`;

const clusterOf = (d: { backends: readonly { cluster: string }[] } | undefined): string | undefined => d?.backends[0]?.cluster;

describe('VirtualService tls routes', () => {
  it('route by server name per match entry, before the tcp routes; no or other SNI falls to tcp', () => {
    const { table, diagnostics } = routesFrom(VS);
    assert.deepEqual(diagnostics, []);
    const t = table('reviews', 9080);
    assert.equal(t.inspectsSni, true);
    assert.match(clusterOf(t.routeTcp('a.v2.example')) ?? '', /reviews-v2/);
    assert.equal(t.routeTcp('a.v2.example')?.name, 'default.reviews.tls.1');
    // admin.example is matched on port 9090 only.
    assert.match(clusterOf(t.routeTcp('admin.example')) ?? '', /reviews-v1/);
    assert.match(clusterOf(t.routeTcp(undefined)) ?? '', /reviews-v1/);
    assert.equal(t.routeTcp(undefined)?.name, 'default.reviews.tcp.0');
    assert.match(clusterOf(table('reviews', 9090).routeTcp('admin.example')) ?? '', /reviews-v2/);
  });

  it('a port without TLS routes does not inspect; errors name the field', () => {
    const tcpOnly = routesFrom(VS.replace(/ {2}tls:[\s\S]*? {2}tcp:/, '  tcp:'));
    assert.notEqual(tcpOnly.table('reviews', 9080).inspectsSni, true);
    const bad = routesFrom(VS.replace('[admin.example]', '["bad name!"]').replace(', {port: 9080, sniHosts: ["*.v2.example"]}', ', {port: 9080}'));
    const text = bad.diagnostics.map((d) => `${d.field ?? ''}: ${d.message}`).join('\n');
    assert.match(text, /spec\.tls\[0\]\.match\[0\]\.sniHosts\[0\]: "bad name!" is not a server name/);
    assert.match(text, /spec\.tls\[0\]\.match\[1\]\.sniHosts: a tls match needs at least one server name/);
  });
});

describe('TLSRoute', () => {
  const tlsRoute = (hostnames: string): string => `
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: reviews-tls, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  ${hostnames}
  rules: [{backendRefs: [{name: reviews-v2, port: 9080}]}]
`;

  it('matches its hostnames (wildcards too); other names keep the default route', () => {
    const { table, diagnostics } = routesFrom(tlsRoute('hostnames: ["*.example.com"]'));
    assert.deepEqual(diagnostics, []);
    const t = table('reviews', 9080);
    assert.match(clusterOf(t.routeTcp('db.example.com')) ?? '', /reviews-v2/);
    assert.doesNotMatch(clusterOf(t.routeTcp('db.other.org')) ?? '', /reviews-v2/);
    assert.doesNotMatch(clusterOf(t.routeTcp(undefined)) ?? '', /reviews-v2/);
  });

  it('without hostnames takes any TLS connection with a server name', () => {
    const t = routesFrom(tlsRoute('')).table('reviews', 9080);
    assert.match(clusterOf(t.routeTcp('anything.example')) ?? '', /reviews-v2/);
    assert.doesNotMatch(clusterOf(t.routeTcp(undefined)) ?? '', /reviews-v2/);
  });
});
