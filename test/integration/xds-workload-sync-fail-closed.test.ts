/**
 * The workload xDS source fails closed at start: a control plane that has sent Workloads but not
 * yet the first `istio.security.Authorization` push must not get those Workloads served, since
 * the ztunnel would accept their connections with no L4 policy at all (allow everything).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WorkloadXdsSource } from '../../src/sources/workload-xds-source.js';
import { ADDRESS_TYPE, AUTHORIZATION_TYPE } from '../../src/sources/workload-xds-source.js';
import { eventually } from '../helpers/eventually.js';
import { FakeIstiod } from '../helpers/fake-istiod.js';
import { testWorkloadXdsSource } from '../helpers/test-workload-xds-source.js';

const workload = {
  workload: {
    uid: 'Kubernetes//Pod/default/guarded-v1',
    name: 'guarded-v1',
    namespace: 'default',
    addresses: [Buffer.from([127, 1, 77, 7]).toString('base64')],
    tunnel_protocol: 'HBONE',
    trust_domain: 'cluster.local',
    service_account: 'guarded',
    node: 'node-b',
    authorization_policies: ['default/deny-sleep'],
  },
};
const denySleep = {
  name: 'deny-sleep',
  namespace: 'default',
  scope: 'WORKLOAD_SELECTOR',
  action: 'DENY',
  rules: [{ clauses: [{ matches: [{ principals: [{ exact: 'cluster.local/ns/default/sa/sleep' }] }] }] }],
};

describe('workload xDS before the first Authorization push', () => {
  let istiod: FakeIstiod | undefined;
  let source: WorkloadXdsSource | undefined;
  after(async () => {
    await source?.close();
    istiod?.close();
  });

  it('publishes no Workload until both types arrived, then the Workload with its policy', async () => {
    istiod = await FakeIstiod.start({ holdInitial: [AUTHORIZATION_TYPE] });
    istiod.set(ADDRESS_TYPE, [workload]);
    source = testWorkloadXdsSource(istiod.address);
    const s = source;
    const fake = istiod;
    // The Address push was received and acknowledged: the source has had the Workload.
    await eventually(() => assert.ok(fake.acks(ADDRESS_TYPE).length > 0, 'Address ACKed'), 10_000, 20);
    assert.equal(s.status().synced, false);
    assert.deepEqual(
      s.objects().map((o) => o.ref.kind),
      [],
      'a Workload without its policies is not served',
    );
    fake.set(AUTHORIZATION_TYPE, [denySleep]);
    await eventually(() => assert.equal(s.status().synced, true), 10_000, 20);
    const kinds = s.objects().map((o) => o.ref.kind);
    assert.ok(kinds.length >= 2, `Workload and policy published: ${kinds.join(',')}`);
  });
});
