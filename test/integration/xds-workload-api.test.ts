/**
 * Istio's workload API over delta ADS from a fake istiod feeds the real ztunnels and waypoint:
 * a Service and its Workload pushed over WDS are reachable from a mesh pod through the waypoint,
 * an L4 Authorization pushed over WDS is enforced by the destination ztunnel and lifted when
 * removed, a bad resource is NACKed by name and field, and a reconnect resumes with
 * `initial_resource_versions`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EchoServer } from '../../src/apps/echo-server.js';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadXdsSource } from '../../src/sources/workload-xds-source.js';
import { ADDRESS_TYPE, AUTHORIZATION_TYPE } from '../../src/sources/workload-xds-source.js';
import { testWorkloadXdsSource } from '../helpers/test-workload-xds-source.js';
import { eventually } from '../helpers/eventually.js';
import { FakeIstiod } from '../helpers/fake-istiod.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import type { LocalMesh } from '../helpers/local-mesh.js';

const b64 = (ip: string): string => Buffer.from(ip.split('.').map(Number)).toString('base64');
const HOST = 'details.default.svc.cluster.local';

describe('Istio workload API (WDS) over delta ADS', () => {
  let istiod: FakeIstiod;
  let mesh: LocalMesh;
  let source: WorkloadXdsSource;
  let app: EchoServer;
  let podIp = '';
  let vip = '';

  const workload = (policies: string[] = []) => ({
    workload: {
      uid: 'Kubernetes//Pod/default/details-v1',
      name: 'details-v1',
      namespace: 'default',
      addresses: [b64(podIp)],
      tunnel_protocol: 'HBONE',
      trust_domain: 'cluster.local',
      service_account: 'details',
      node: 'node-b',
      canonical_name: 'details',
      canonical_revision: 'v1',
      workload_name: 'details-v1',
      authorization_policies: policies,
      services: { [`default/${HOST}`]: { ports: [{ service_port: 9080, target_port: 9080 }] } },
    },
  });
  const service = {
    service: {
      name: 'details',
      namespace: 'default',
      hostname: HOST,
      addresses: [{ network: '', address: b64('') }],
      ports: [{ service_port: 9080, target_port: 9080 }],
      waypoint: { hostname: { namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hbone_mtls_port: 15008 },
    },
  };
  const denySleep = {
    name: 'deny-sleep',
    namespace: 'default',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [{ principals: [{ exact: 'cluster.local/ns/default/sa/sleep' }] }] }] }],
  };

  before(async () => {
    istiod = await FakeIstiod.start();
    mesh = await startLocalMesh({
      sources: async () => {
        source = testWorkloadXdsSource(istiod.address);
        return [source];
      },
    });
    podIp = mesh.block.pod(60);
    vip = mesh.block.vip(60);
    service.service.addresses = [{ network: '', address: b64(vip) }];
    app = new EchoServer({ pod: 'default/details-v1', host: podIp, port: 9080, view: mesh.store });
    await app.start();
    istiod.set(AUTHORIZATION_TYPE, []);
    istiod.set(ADDRESS_TYPE, [workload(), service]);
  });
  after(async () => {
    await mesh?.close();
    await app?.close(200);
    istiod?.close();
  });

  const get = () => mesh.request(mesh.pod('default', 'sleep'), `http://details:9080/info`);

  it('makes a pushed Service and Workload reachable through the waypoint', async () => {
    await eventually(() => source.status().synced);
    const res = await eventually(async () => {
      const r = await get();
      assert.equal(r.status, 200, r.body.toString());
      return r;
    });
    const echo = res.json<EchoReport>();
    assert.equal(echo.pod, 'default/details-v1');
    // Waypoints do not preserve the client address: the app's peer is the waypoint.
    assert.equal(echo.peer.address, mesh.block.waypoint(1));
    assert.ok(mesh.waypointRecords.some((r) => r.authority?.startsWith('details')), 'the waypoint served it');
    assert.ok(istiod.acks(ADDRESS_TYPE).length > 0 && istiod.acks(AUTHORIZATION_TYPE).length > 0);
    const view = mesh.store.current();
    const svc = view.serviceByVip(vip);
    assert.equal(svc?.waypoint?.name, 'waypoint');
  });

  it('enforces a pushed L4 Authorization at the destination ztunnel, and lifts it when removed', async () => {
    // Pod-addressed traffic goes ztunnel to ztunnel, one CONNECT per connection: each is checked.
    const direct = async (): Promise<number | string> => {
      try {
        return (await mesh.request(mesh.pod('default', 'sleep'), `http://${podIp}:9080/direct`)).status;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    };
    assert.equal(await direct(), 200);
    istiod.set(AUTHORIZATION_TYPE, [denySleep]);
    istiod.set(ADDRESS_TYPE, [workload(['default/deny-sleep']), service]);
    await eventually(async () => assert.notEqual(await direct(), 200));
    assert.ok(mesh.ztunnelRecords.some((r) => r.failure === 'L4_POLICY_DENIED'), 'the destination ztunnel denied it');
    istiod.set(AUTHORIZATION_TYPE, []);
    await eventually(async () => assert.equal(await direct(), 200));
  });

  it('NACKs a bad resource by name and field and keeps the previous version', async () => {
    const bad = workload();
    (bad.workload as Record<string, unknown>)['addresses'] = [Buffer.from([127, 0, 0]).toString('base64')];
    istiod.set(ADDRESS_TYPE, [bad, service]);
    const nack = await eventually(() => {
      const n = istiod.nacks(ADDRESS_TYPE).at(-1);
      assert.ok(n);
      return n;
    });
    assert.match(nack.errorDetail ?? '', /Address Kubernetes\/\/Pod\/default\/details-v1: workload\.addresses\[0\]: an IP address is 4 or 16 bytes, got 3/);
    assert.equal((await get()).status, 200, 'the previous version of the workload keeps serving');
  });

  it('resumes after a reconnect with the versions it holds', async () => {
    istiod.close();
    await eventually(() => source.status().stale);
    assert.equal((await get()).status, 200, 'last good config while the control plane is away');
    istiod.set(ADDRESS_TYPE, [workload(), service]);
    istiod = await istiod.restart();
    await eventually(() => !source.status().stale, 10_000);
    const resume = await eventually(() => {
      const r = istiod.requests.find((x) => x.typeUrl === ADDRESS_TYPE && x.nonce === '');
      assert.ok(r);
      return r;
    });
    assert.ok(resume?.initialVersions && Object.keys(resume.initialVersions).includes('Kubernetes//Pod/default/details-v1'), JSON.stringify(resume));
    assert.equal((await get()).status, 200);
  });
});
