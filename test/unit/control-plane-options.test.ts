/** Choosing config sources by flags and Istio's environment names; readiness gated on first config. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { configGate, nodeOf, openControlPlane } from '../../src/commands/control-plane-options.js';
import type { ObjectSource, ObjectSourceStatus } from '../../src/state/object-source.js';

function fakeSource(status: ObjectSourceStatus): ObjectSource & { status: () => ObjectSourceStatus; set(s: ObjectSourceStatus): void } {
  let st = status;
  return {
    name: 'fake',
    objects: () => [],
    diagnostics: () => [],
    status: () => st,
    set: (s) => (st = s),
    onChange: () => () => undefined,
    close: async () => undefined,
  };
}

describe('control plane selection', () => {
  it('reads XDS_ADDRESS / CA_ADDRESS style env; flags win; http:// is plaintext', async () => {
    const files = await openControlPlane({}, { kind: 'ztunnel', node: 'n1' }, {});
    assert.equal(files.description, 'files');
    const env = { XDS_ADDRESS: 'http://127.0.0.1:1', POD_NAMESPACE: 'istio-system', POD_NAME: 'ztunnel-abc', INSTANCE_IP: '127.3.250.5', ISTIO_META_CLUSTER_ID: 'Kubernetes' };
    const viaEnv = await openControlPlane({}, { kind: 'ztunnel', node: 'n1' }, env);
    assert.equal(viaEnv.description, 'files + xds workload 127.0.0.1:1');
    await Promise.all(viaEnv.sources.map((s) => s.close()));
    const viaFlag = await openControlPlane({ 'xds-address': 'http://127.0.0.1:2', 'xds-api': 'envoy' }, { kind: 'waypoint', waypoint: { namespace: 'default', name: 'waypoint' } }, env);
    assert.equal(viaFlag.description, 'files + xds envoy 127.0.0.1:2');
    await Promise.all(viaFlag.sources.map((s) => s.close()));
    await assert.rejects(openControlPlane({ 'xds-address': 'istiod:15012' }, { kind: 'ztunnel', node: 'n1' }, {}), /root certificate \/var\/run\/secrets\/istio\/root-cert.pem/);
    const node = nodeOf({ kind: 'ztunnel', node: 'n1' }, env);
    assert.equal(node.id, 'ztunnel~127.3.250.5~ztunnel-abc.istio-system~istio-system.svc.cluster.local');
    assert.equal(node.metadata?.['CLUSTER_ID'], 'Kubernetes');
  });

  it('is not ready before the first config, and says stale when the control plane is gone', async () => {
    const src = fakeSource({ synced: false, stale: false, detail: 'connecting' });
    const r = new ReadinessServer();
    r.gateOnConfig(configGate([src]));
    const addr = await r.listen('127.0.0.1', 0);
    const get = async () => {
      const res = await fetch(`http://127.0.0.1:${addr.port}/healthz/ready`);
      return `${res.status} ${(await res.text()).trim()}`;
    };
    try {
      r.setReady();
      assert.equal(await get(), '503 NOT READY');
      src.set({ synced: true, stale: false, detail: 'connected' });
      assert.equal(await get(), '200 LIVE');
      src.set({ synced: true, stale: true, detail: 'control plane 127.0.0.1:1 unreachable' });
      assert.equal(await get(), '200 LIVE (config stale: control plane 127.0.0.1:1 unreachable)');
    } finally {
      await r.close(100);
    }
  });
});
