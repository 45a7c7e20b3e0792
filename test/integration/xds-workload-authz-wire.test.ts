/**
 * L4 Authorizations sent over Istio's workload API as bytes written from Istio's published field
 * numbers (`test/helpers/istio-wire.ts`), not by the project's encoder, and enforced by the real
 * destination ztunnel over real sockets:
 * - an ALLOW with a principal match admits that principal and refuses another;
 * - an ALLOW with a `service_accounts` match (field 11) admits that service account only;
 * - a policy that cannot be read (the old wrong layout with matches under Clause field 1, an
 *   unknown action) is NACKed by name and enforced fail-closed, never skipped or "allow all".
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EchoServer } from '../../src/apps/echo-server.js';
import type { WorkloadXdsSource } from '../../src/sources/workload-xds-source.js';
import { ADDRESS_TYPE, AUTHORIZATION_TYPE } from '../../src/sources/workload-xds-source.js';
import { testWorkloadXdsSource } from '../helpers/test-workload-xds-source.js';
import { eventually } from '../helpers/eventually.js';
import { FakeIstiod } from '../helpers/fake-istiod.js';
import { ACTION, SCOPE, authorization, exact, match, serviceAccount } from '../helpers/istio-wire.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import type { LocalMesh } from '../helpers/local-mesh.js';

const b64 = (ip: string): string => Buffer.from(ip.split('.').map(Number)).toString('base64');
const HOST = 'details.default.svc.cluster.local';
const POLICY = 'default/details-policy';

describe('L4 Authorization from hand-encoded workload-API bytes', () => {
  let istiod: FakeIstiod;
  let mesh: LocalMesh;
  let source: WorkloadXdsSource;
  let app: EchoServer;
  let podIp = '';

  const workload = () => ({
    workload: {
      uid: 'Kubernetes//Pod/default/details-v1',
      name: 'details-v1',
      namespace: 'default',
      addresses: [b64(podIp)],
      tunnel_protocol: 'HBONE',
      trust_domain: 'cluster.local',
      service_account: 'details',
      node: 'node-b',
      authorization_policies: [POLICY],
      services: { [`default/${HOST}`]: { ports: [{ service_port: 9080, target_port: 9080 }] } },
    },
  });
  const policy = (action: number, matches: Buffer[], extra: { matchesField?: number } = {}): { name: string; value: Buffer } => ({
    name: POLICY,
    value: authorization({ name: 'details-policy', namespace: 'default', scope: SCOPE.WORKLOAD_SELECTOR, action, rules: [[matches]], ...extra }),
  });

  /** Pod-addressed traffic goes ztunnel to ztunnel, one CONNECT per connection: each is checked. */
  const from = async (ns: string, pod: string): Promise<number | string> => {
    try {
      return (await mesh.request(mesh.pod(ns, pod), `http://${podIp}:9080/direct`)).status;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  const outcome = async (): Promise<{ sleep: boolean; notsleep: boolean }> => ({
    sleep: (await from('default', 'sleep')) === 200,
    notsleep: (await from('other', 'notsleep')) === 200,
  });

  before(async () => {
    istiod = await FakeIstiod.start();
    mesh = await startLocalMesh({
      sources: async () => {
        source = testWorkloadXdsSource(istiod.address);
        return [source];
      },
    });
    podIp = mesh.block.pod(61);
    app = new EchoServer({ pod: 'default/details-v1', host: podIp, port: 9080, view: mesh.store });
    await app.start();
    istiod.setRaw(AUTHORIZATION_TYPE, []);
    istiod.set(ADDRESS_TYPE, [workload()]);
    await eventually(() => source.status().synced);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: true, notsleep: true }));
  });
  after(async () => {
    await mesh?.close();
    await app?.close(200);
    istiod?.close();
  });

  it('an ALLOW with a principal match admits that principal and refuses another', async () => {
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.ALLOW, [match({ principals: [exact('cluster.local/ns/default/sa/sleep')] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: true, notsleep: false }));
    assert.ok(mesh.ztunnelRecords.some((r) => r.failure === 'L4_POLICY_DENIED'), 'the destination ztunnel denied notsleep');
    assert.equal(istiod.nacks(AUTHORIZATION_TYPE).length, 0);
  });

  it('an ALLOW with a service_accounts match (field 11) admits only that service account', async () => {
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.ALLOW, [match({ serviceAccounts: [serviceAccount('other', 'default')] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: false, notsleep: true }));
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.DENY, [match({ notServiceAccounts: [serviceAccount('default', 'sleep')] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: true, notsleep: false }));
    assert.equal(istiod.nacks(AUTHORIZATION_TYPE).length, 0);
  });

  it('a policy in the old layout (matches under Clause field 1) is NACKed and fails closed', async () => {
    // As the project used to encode it: a DENY of sleep only. Read with empty matches it would
    // have denied everyone, or (empty clause) matched nothing; now it is refused and stands as a
    // DENY of everything until a readable version arrives.
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.DENY, [match({ principals: [exact('cluster.local/ns/default/sa/sleep')] })], { matchesField: 1 })]);
    const nack = await eventually(() => {
      const n = istiod.nacks(AUTHORIZATION_TYPE).at(-1);
      assert.ok(n);
      return n;
    });
    assert.match(nack.errorDetail ?? '', /details-policy.*rules\[0\]\.clauses\[0\]#1/);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: false, notsleep: false }));
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.DENY, [match({ principals: [exact('cluster.local/ns/default/sa/sleep')] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: false, notsleep: true }));
  });

  it('an ALLOW whose action or constraint cannot be read never allows all', async () => {
    // An action number this schema does not know: enforced as DENY everything.
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(7, [match({ principals: [exact('cluster.local/ns/default/sa/sleep')] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: false, notsleep: false }));
    // An ALLOW whose StringMatch has no match type: an ALLOW that matches nothing.
    istiod.setRaw(AUTHORIZATION_TYPE, [policy(ACTION.ALLOW, [match({ principals: [Buffer.alloc(0)] })])]);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: false, notsleep: false }));
    assert.ok(istiod.nacks(AUTHORIZATION_TYPE).some((n) => /StringMatch needs/.test(n.errorDetail ?? '')));
    istiod.setRaw(AUTHORIZATION_TYPE, []);
    await eventually(async () => assert.deepEqual(await outcome(), { sleep: true, notsleep: true }));
  });
});
