/** istiod's weighted waypoint set (workload API `Service.weighted_waypoints`) → the canary binding. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WdsGatewayAddressDraft } from '../../src/config/from-xds/wds-gateway-address.js';
import type { WdsServiceDraft } from '../../src/config/from-xds/wds-service.js';
import { assembleWorkloadConfig } from '../../src/config/from-xds/workload-config.js';

const gw = (name: string): WdsGatewayAddressDraft => ({ hostname: { namespace: 'default', hostname: `${name}.default.svc.cluster.local` }, hbonePort: 15008 });

function serviceWith(weighted: WdsServiceDraft['weightedWaypoints']): WdsServiceDraft {
  const partial = {
    name: 'reviews',
    namespace: 'default',
    hostname: 'reviews.default.svc.cluster.local',
    vips: ['127.100.0.10'],
    addresses: [],
    ports: [{ port: 9080, targetPort: 9080, appProtocol: 'http' }],
    subjectAltNames: [],
    waypoint: gw('waypoint'),
    ipFamilies: 'IPV4_ONLY',
    extensions: [],
    canonical: true,
    ingressUseWaypoint: false,
    weightedWaypoints: weighted,
    visibility: 'PUBLIC',
  };
  return partial as unknown as WdsServiceDraft;
}

function bindingOf(weighted: WdsServiceDraft['weightedWaypoints']): { labels: Record<string, string>; annotations?: Record<string, string> } {
  const out = assembleWorkloadConfig({ workloads: new Map(), services: new Map([['default/reviews', serviceWith(weighted)]]), authorizations: new Map() }, 'xds://test');
  const svc = out.find((o) => o.type === 'Service');
  assert.ok(svc && svc.type === 'Service');
  return svc.value;
}

describe('WDS weighted_waypoints → canary binding', () => {
  it("istiod's [primary 90, canary 10] becomes the canary labels and weight", () => {
    const b = bindingOf([{ destination: gw('waypoint'), weight: 90 }, { destination: gw('waypoint-canary'), weight: 10 }]);
    assert.equal(b.labels['istio.io/use-waypoint'], 'waypoint');
    assert.equal(b.labels['istio.io/use-waypoint-canary'], 'waypoint-canary');
    assert.equal(b.labels['istio.io/use-waypoint-canary-namespace'], 'default');
    assert.deepEqual(b.annotations, { 'istio.io/use-waypoint-canary-weight': '10' });
  });

  it('weights that do not add up to 100 are scaled to a share', () => {
    assert.deepEqual(bindingOf([{ destination: gw('waypoint'), weight: 3 }, { destination: gw('waypoint-canary'), weight: 1 }]).annotations, { 'istio.io/use-waypoint-canary-weight': '25' });
  });

  it('no set, an all-zero set, or a set not led by the primary: the primary alone', () => {
    for (const set of [
      [],
      [{ destination: gw('waypoint'), weight: 0 }, { destination: gw('waypoint-canary'), weight: 0 }],
      [{ destination: gw('other'), weight: 50 }, { destination: gw('waypoint-canary'), weight: 50 }],
    ]) {
      const b = bindingOf(set);
      assert.equal(b.labels['istio.io/use-waypoint'], 'waypoint');
      assert.equal(b.labels['istio.io/use-waypoint-canary'], undefined);
      assert.equal(b.annotations, undefined);
    }
  });
});
