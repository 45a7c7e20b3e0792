/** Envoy v3 resources → IR drafts: what maps, and what is rejected with its field path. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleEnvoyConfig } from '../../src/config/from-xds/envoy-config.js';
import { CLUSTER_TYPE, EnvoyResourceSet, LISTENER_TYPE, ROUTE_TYPE } from '../../src/config/from-xds/envoy-resources.js';
import { reviewsRouteConfiguration, ROUTER_FILTER, waypointListener } from '../helpers/envoy-fixtures.js';

const T = { waypoint: { namespace: 'default', name: 'waypoint' }, source: 'test' };
const typed = (type: string, cfg: Record<string, unknown> = {}) => ({ '@type': `type.googleapis.com/${type}`, ...cfg });

describe('Envoy xDS translators', () => {
  it('rejects unsupported HTTP filters clearly, and accepts an optional unknown one', () => {
    const set = new EnvoyResourceSet();
    const cases: [string, unknown[], RegExp][] = [
      ['wasm', [{ name: 'w', typed_config: typed('envoy.extensions.filters.http.wasm.v3.Wasm') }, ROUTER_FILTER], /wasm filter is not translated/],
      ['jwt', [{ name: 'j', typed_config: typed('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', { providers: { p: { issuer: 'x' } } }) }, ROUTER_FILTER], /jwt_authn providers/],
      ['unknown', [{ name: 'x', typed_config: typed('acme.Filter') }, ROUTER_FILTER], /HTTP filter x \(acme.Filter\) is not supported/],
      ['no router', [], /must end with envoy.filters.http.router/],
      ['router not last', [ROUTER_FILTER, { name: 'envoy.filters.http.cors', typed_config: typed('envoy.extensions.filters.http.cors.v3.Cors') }], /router filter must be the last/],
    ];
    for (const [name, filters, re] of cases) {
      const r = set.apply(LISTENER_TYPE, [{ value: { ...waypointListener(filters), name } }], false);
      assert.equal(r.problems.length, 1, name);
      assert.match(r.problems[0]!.message, re, name);
      assert.match(r.problems[0]!.field, /filter_chains\[0\]\.filters\[0\]\.typed_config/, name);
    }
    const ok = set.apply(LISTENER_TYPE, [{ value: waypointListener([{ name: 'x', is_optional: true, typed_config: typed('acme.Filter') }, ROUTER_FILTER]) }], false);
    assert.deepEqual(ok.problems, []);
  });

  it('maps an RBAC filter to an L7 policy on the waypoint', () => {
    const set = new EnvoyResourceSet();
    const rbac = {
      name: 'envoy.filters.http.rbac',
      typed_config: typed('envoy.extensions.filters.http.rbac.v3.RBAC', {
        rules: {
          action: 'DENY',
          policies: {
            'deny-admin': {
              permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }, { header: { name: ':method', string_match: { exact: 'POST' } } }] } }],
              principals: [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/sleep' } } }],
            },
          },
        },
      }),
    };
    assert.deepEqual(set.apply(LISTENER_TYPE, [{ value: waypointListener([rbac, ROUTER_FILTER]) }], false).problems, []);
    set.apply(ROUTE_TYPE, [{ value: reviewsRouteConfiguration() }], false);
    const objs = assembleEnvoyConfig(set, T);
    const policy = objs.find((o) => o.type === 'L7Policy');
    assert.ok(policy && policy.type === 'L7Policy');
    assert.equal(policy.value.action, 'DENY');
    assert.deepEqual(policy.value.targets, [{ kind: 'Gateway', namespace: 'default', name: 'waypoint' }]);
    assert.deepEqual(policy.value.rules[0]?.to[0]?.paths, [{ kind: 'prefix', value: '/admin' }]);
    assert.deepEqual(policy.value.rules[0]?.to[0]?.methods, [{ kind: 'exact', value: 'POST' }]);
    assert.deepEqual(policy.value.rules[0]?.from[0]?.principals, [{ kind: 'exact', value: 'cluster.local/ns/default/sa/sleep' }]);
  });

  it('applies per-route fault and CORS only when their filter is in the chain; Envoy routes never retry by default', () => {
    const route = reviewsRouteConfiguration();
    const vh = (route['virtual_hosts'] as Record<string, unknown>[])[0]!;
    vh['typed_per_filter_config'] = {
      'envoy.filters.http.fault': typed('envoy.extensions.filters.http.fault.v3.HTTPFault', { abort: { http_status: 418, percentage: { numerator: 50, denominator: 'HUNDRED' } } }),
    };
    const withFault = new EnvoyResourceSet();
    withFault.apply(LISTENER_TYPE, [{ value: waypointListener([{ name: 'envoy.filters.http.fault', typed_config: typed('envoy.extensions.filters.http.fault.v3.HTTPFault') }, ROUTER_FILTER]) }], false);
    assert.deepEqual(withFault.apply(ROUTE_TYPE, [{ value: route }], false).problems, []);
    const rules = (set: EnvoyResourceSet) => assembleEnvoyConfig(set, T).flatMap((o) => (o.type === 'HttpRoute' ? o.value.rules : []));
    assert.deepEqual(rules(withFault)[0]?.fault, { abort: { httpStatus: 418, percent: 50 } });
    assert.deepEqual(rules(withFault)[0]?.retry, { attempts: 0, retryOn: [], codes: [] });
    const without = new EnvoyResourceSet();
    without.apply(LISTENER_TYPE, [{ value: waypointListener() }], false);
    without.apply(ROUTE_TYPE, [{ value: route }], false);
    assert.equal(rules(without)[0]?.fault, undefined);
  });

  it('keeps the previous good version of a rejected resource, and names resource and field', () => {
    const set = new EnvoyResourceSet();
    set.apply(CLUSTER_TYPE, [{ value: { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.9', port_value: 80 } } } }] }] } } }], true);
    const r = set.apply(CLUSTER_TYPE, [{ value: { name: 'c', type: 'STRICT_DNS' } }], true);
    assert.deepEqual(r.problems, [{ typeUrl: CLUSTER_TYPE, name: 'c', field: 'type', message: 'cluster type STRICT_DNS is not supported (STATIC, EDS)' }]);
    assert.deepEqual(set.clusters.get('c')?.inlineEndpoints, [{ ip: '127.0.0.9', port: 80 }]);
    const bad = set.apply(CLUSTER_TYPE, [{ value: { name: 'd', type: 'STATIC', outlier_detection: { consecutive_5xx: 1 } } }], false);
    assert.equal(bad.problems[0]?.field, 'outlier_detection');
  });
});
