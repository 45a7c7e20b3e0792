/**
 * Envoy v3 resources over a real ADS gRPC stream from a fake istiod configure the real waypoint:
 * traffic changes as new routes and endpoints are pushed, a bad resource is NACKed with the
 * resource and field named while the previous version keeps serving, removals take effect, and a
 * control plane that disappears leaves the last good config serving (stale) until it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/config/from-xds/envoy-resources.js';
import { EnvoyXdsSource } from '../../src/sources/envoy-xds-source.js';
import { Backoff } from '../../src/sources/xds-backoff.js';
import { CLUSTER_V1, CLUSTER_V2, eds, edsCluster, REVIEWS_VERSION_SERVICES_YAML, reviewsRouteConfiguration, ROUTER_FILTER, waypointListener } from '../helpers/envoy-fixtures.js';
import { eventually } from '../helpers/eventually.js';
import { FakeIstiod } from '../helpers/fake-istiod.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import type { LocalMesh } from '../helpers/local-mesh.js';

describe('Envoy xDS over ADS through the waypoint', () => {
  let istiod: FakeIstiod;
  let mesh: LocalMesh;
  let source: EnvoyXdsSource;
  let v1 = '';
  let v2 = '';

  before(async () => {
    istiod = await FakeIstiod.start();
    mesh = await startLocalMesh({
      extraFiles: { '90-versions.yaml': REVIEWS_VERSION_SERVICES_YAML },
      sources: async () => {
        source = new EnvoyXdsSource({
          address: istiod.address,
          credentials: grpc.credentials.createInsecure(),
          node: { id: 'waypoint~127.0.0.1~waypoint.default~default.svc.cluster.local', cluster: 'waypoint.default' },
          waypoint: { namespace: 'default', name: 'waypoint' },
          backoff: new Backoff(50, 200),
        });
        return [source];
      },
    });
    v1 = mesh.pod('default', 'reviews-v1').ip;
    v2 = mesh.pod('default', 'reviews-v2').ip;
    const faultFilter = { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } };
    istiod.set(CLUSTER_TYPE, [edsCluster(CLUSTER_V1), edsCluster(CLUSTER_V2)]);
    istiod.set(ENDPOINT_TYPE, [eds(CLUSTER_V1, [v1]), eds(CLUSTER_V2, [v2])]);
    istiod.set(ROUTE_TYPE, [reviewsRouteConfiguration()]);
    istiod.set(LISTENER_TYPE, [waypointListener([faultFilter, ROUTER_FILTER])]);
  });
  after(async () => {
    await mesh?.close();
    istiod?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, { headers });
  const podOf = async (path: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await get(path, headers);
    assert.equal(res.status, 200, res.body.toString());
    return res.json<EchoReport>().pod;
  };

  it('serves pushed routes once synced, and ACKs every type with the node identified', async () => {
    await eventually(() => source.status().synced);
    assert.equal(await podOf('/canary/x', { 'x-canary': 'yes' }), 'default/reviews-v2');
    assert.equal(await podOf('/canary/x'), 'default/reviews-v1');
    assert.equal((await get('/old/x')).status, 302);
    for (const t of [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE]) assert.ok(istiod.acks(t).length > 0, `ACK for ${t}`);
    assert.equal(istiod.requests.filter((r) => r.node).length, 1, 'the node is sent once, on the first request');
    assert.equal(istiod.requests.find((r) => r.node)?.node?.['id'], 'waypoint~127.0.0.1~waypoint.default~default.svc.cluster.local');
    assert.deepEqual(istiod.requests.filter((r) => r.typeUrl === ROUTE_TYPE).at(-1)?.names, ['reviews-routes']);
  });

  it('follows a route update and an endpoint update', async () => {
    istiod.set(ROUTE_TYPE, [reviewsRouteConfiguration('reviews-routes', CLUSTER_V1)]);
    await eventually(async () => assert.equal(await podOf('/canary/x', { 'x-canary': 'yes' }), 'default/reviews-v1'));
    istiod.set(ENDPOINT_TYPE, [eds(CLUSTER_V1, [v2]), eds(CLUSTER_V2, [v2])]);
    await eventually(async () => assert.equal(await podOf('/anything'), 'default/reviews-v2'));
    istiod.set(ENDPOINT_TYPE, [eds(CLUSTER_V1, [v1]), eds(CLUSTER_V2, [v2])]);
    await eventually(async () => assert.equal(await podOf('/anything'), 'default/reviews-v1'));
  });

  it('NACKs a bad resource naming resource and field; the last good version keeps serving', async () => {
    const bad = reviewsRouteConfiguration('reviews-routes', CLUSTER_V2);
    const vh = (bad['virtual_hosts'] as Record<string, unknown>[])[0]!;
    const routes = vh['routes'] as Record<string, unknown>[];
    routes[0] = { ...routes[0], match: { safe_regex: { regex: '(unclosed' } } };
    const before = istiod.nacks(ROUTE_TYPE).length;
    istiod.set(ROUTE_TYPE, [bad]);
    const nack = await eventually(() => {
      const n = istiod.nacks(ROUTE_TYPE);
      assert.ok(n.length > before);
      return n.at(-1)!;
    });
    assert.match(nack.errorDetail ?? '', /RouteConfiguration reviews-routes: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex/);
    const lastAck = istiod.acks(ROUTE_TYPE).at(-1)!;
    assert.equal(nack.version, lastAck.version, 'a NACK carries the last accepted version');
    // The previous version (canary → v1) still routes.
    assert.equal(await podOf('/canary/x', { 'x-canary': 'yes' }), 'default/reviews-v1');
    assert.ok(mesh.store.diagnostics().some((d) => d.kind === 'RouteConfiguration' && d.field === 'virtual_hosts[0].routes[0].match.safe_regex.regex'));
    // Fixed: accepted again.
    istiod.set(ROUTE_TYPE, [reviewsRouteConfiguration('reviews-routes', CLUSTER_V2)]);
    await eventually(async () => assert.equal(await podOf('/canary/x', { 'x-canary': 'yes' }), 'default/reviews-v2'));
  });

  it('keeps the last good config while the control plane is gone, and reconnects', async () => {
    const connections = istiod.connections;
    istiod.close();
    await eventually(() => source.status().stale);
    assert.match(source.status().detail, /unreachable/);
    assert.equal(await podOf('/canary/x', { 'x-canary': 'yes' }), 'default/reviews-v2');
    istiod = await istiod.restart();
    await eventually(() => istiod.connections > 0 && !source.status().stale, 10_000);
    void connections;
    // On reconnect the client tells the server which versions it holds.
    const resumed = await eventually(() => {
      const r = istiod.requests.find((x) => x.typeUrl === LISTENER_TYPE && x.nonce === '');
      assert.ok(r);
      return r;
    });
    assert.notEqual(resumed.version, '', 'the first request after reconnecting carries the accepted version');
  });

  it('removes what the control plane removes', async () => {
    istiod.set(LISTENER_TYPE, []);
    // No Envoy route for reviews any more: the Service's own default route (both pods), no redirect.
    await eventually(async () => assert.equal((await get('/old/x')).status, 200));
  });
});
