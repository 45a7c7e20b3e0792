/**
 * `ambient waypoint` as a real process configured the cluster way, proving the flags and Istio's
 * environment variables work as documented:
 * - `--kube --kubeconfig FILE` against a fake Kubernetes API: the Gateway (a Hostname address, as in
 *   a cluster), Services and Pods come from the API; `--gateway NAME` takes its namespace from
 *   `POD_NAMESPACE` and `--bind instance-ip` listens on `INSTANCE_IP`; readiness, `/config_dump` and a
 *   routed request answer, and a route pushed through the API changes the next request;
 * - `XDS_ADDRESS` against a fake istiod: Envoy listeners, routes, clusters and endpoints over ADS
 *   with the node id built from `POD_NAME` / `POD_NAMESPACE` / `INSTANCE_IP`; a routed request
 *   answers and an endpoint push moves traffic.
 * Certificates come from the test CA, shared through the state directory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { EchoServer } from '../../src/apps/echo-server.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/config/from-xds/envoy-resources.js';
import { HbonePool } from '../../src/hbone/pool.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { KUBE_RESOURCES } from '../../src/sources/kube-resources.js';
import { allocateBlock, type AddressBlock } from '../helpers/addresses.js';
import { CLUSTER_V1, CLUSTER_V2, eds, edsCluster, reviewsRouteConfiguration, waypointListener } from '../helpers/envoy-fixtures.js';
import { eventually } from '../helpers/eventually.js';
import { FakeIstiod } from '../helpers/fake-istiod.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { relocatedConfig, type RelocatedConfig } from '../helpers/relocated-config.js';
import { httpText, startRole, type RoleProcess } from '../helpers/role-process.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const GATEWAYS = '/apis/gateway.networking.k8s.io/v1/gateways';
const HTTPROUTES = '/apis/gateway.networking.k8s.io/v1/httproutes';

/** A client pod's view: HBONE to the waypoint with its own certificate, one HTTP/1.1 request inside. */
class MeshClient {
  private readonly pool: HbonePool;
  private material: TlsMaterial | undefined;
  constructor(private readonly ca: TestCa) {
    this.pool = new HbonePool({ trust: ca.certSource });
  }

  async get(waypoint: string, authority: string, path: string): Promise<{ status: number; headers: string; report: EchoReport | undefined }> {
    this.material ??= await this.ca.issue(this.ca.id('default', 'sleep'));
    const dialed = await this.pool.dial({ source: this.material, expectedIdentities: [this.ca.id('default', 'waypoint')], address: waypoint, port: 15008, authority });
    if (!dialed.ok) assert.fail(`dial ${waypoint} ${authority}: ${dialed.code} ${dialed.status ?? ''} ${dialed.message}`);
    dialed.stream.write(`GET ${path} HTTP/1.1\r\nhost: ${authority.split(':')[0] ?? ''}\r\nconnection: close\r\n\r\n`);
    let text = '';
    for await (const chunk of dialed.stream) text += (chunk as Buffer).toString();
    const split = text.indexOf('\r\n\r\n');
    const body = text.slice(split + 4);
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), headers: text.slice(0, split), report: body.startsWith('{') ? (JSON.parse(body) as EchoReport) : undefined };
  }

  close(): Promise<void> {
    return this.pool.close(200);
  }
}

describe('ambient waypoint --kube, as a process', () => {
  let block: AddressBlock;
  let ca: TestCa;
  let api: FakeKubeApi;
  let echo: EchoServer;
  let wp: RoleProcess | undefined;
  let client: MeshClient;

  before(async () => {
    block = allocateBlock();
    ca = await createTestCa();
    client = new MeshClient(ca);
    echo = new EchoServer({ pod: 'default/echo-1', host: block.pod(1), port: 0 });
    const port = (await echo.start()).port;
    api = await FakeKubeApi.start(KUBE_RESOURCES.map((r) => r.path));
    api.set('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/use-waypoint': 'waypoint' } } });
    api.set(GATEWAYS, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'waypoint', namespace: 'default' },
      spec: { gatewayClassName: 'istio-waypoint', addresses: [{ type: 'Hostname', value: 'waypoint.default.svc.cluster.local' }], listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
    });
    api.set('/api/v1/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo', namespace: 'default' },
      spec: { clusterIP: block.vip(1), selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: port, appProtocol: 'http' }] },
    });
    // Not enrolled in ambient (no dataplane-mode label): the waypoint reaches it in plaintext.
    api.set('/api/v1/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'echo-1', namespace: 'default', labels: { app: 'echo' } },
      spec: { nodeName: 'node-a', serviceAccountName: 'echo', containers: [{ name: 'echo', image: 'echo' }] },
      status: { podIP: block.pod(1), phase: 'Running' },
    });
    const kubeconfig = api.writeKubeconfig(ca.dir);
    wp = await startRole(
      ['waypoint', '--kube', '--kubeconfig', kubeconfig, '--gateway', 'waypoint', '--bind', 'instance-ip', '--admin-address', block.waypoint(1), '--state', ca.dir, '--quiet'],
      { host: block.waypoint(1), port: 15021 },
      30_000,
      { POD_NAMESPACE: 'default', POD_NAME: 'waypoint-7f9c-abcde', INSTANCE_IP: block.waypoint(1) },
    );
  });
  after(async () => {
    await wp?.stop();
    await client?.close();
    await echo?.close(200);
    await api?.close();
    ca?.close();
  });

  it('serves the Gateway from the API on INSTANCE_IP; config_dump shows the objects from the API', async () => {
    assert.match(wp?.stderr() ?? '', /config from files \+ kube http:\/\/127\.0\.0\.1:\d+/);
    const dump = await httpText(block.waypoint(1), 15000, '/config_dump');
    assert.equal(dump.status, 200);
    assert.match(dump.body, /waypoint\.default\.svc\.cluster\.local/);
    assert.match(dump.body, /kube:Service\/default\/echo/);
    const r = await client.get(block.waypoint(1), `${block.vip(1)}:80`, '/hello');
    assert.equal(r.status, 200, r.headers);
    assert.equal(r.report?.pod, 'default/echo-1');
    assert.equal(r.report?.path, '/hello');
  });

  it('a route pushed through the API applies to the next request', async () => {
    api.set(HTTPROUTES, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'echo-tag', namespace: 'default' },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }],
        rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-from-kube', value: 'yes' }] } }], backendRefs: [{ name: 'echo', port: 80 }] }],
      },
    });
    await eventually(async () => {
      const r = await client.get(block.waypoint(1), `${block.vip(1)}:80`, '/tagged');
      assert.equal(r.report?.headers['x-from-kube'], 'yes', r.headers);
    });
  });
});

describe('ambient waypoint with XDS_ADDRESS, as a process', () => {
  let block: AddressBlock;
  let ca: TestCa;
  let config: RelocatedConfig;
  let istiod: FakeIstiod;
  const echoes: EchoServer[] = [];
  let wp: RoleProcess | undefined;
  let client: MeshClient;

  before(async () => {
    block = allocateBlock();
    ca = await createTestCa();
    client = new MeshClient(ca);
    config = relocatedConfig(block);
    // Endpoints outside the mesh (no workload owns these addresses): plaintext from the waypoint.
    for (const [i, name] of [[250, 'xds-a'], [251, 'xds-b']] as const) {
      const e = new EchoServer({ pod: `default/${name}`, host: block.pod(i), port: 9080 });
      await e.start();
      echoes.push(e);
    }
    istiod = await FakeIstiod.start();
    istiod.set(CLUSTER_TYPE, [edsCluster(CLUSTER_V1), edsCluster(CLUSTER_V2)]);
    istiod.set(ENDPOINT_TYPE, [eds(CLUSTER_V1, [block.pod(250)]), eds(CLUSTER_V2, [block.pod(251)])]);
    istiod.set(ROUTE_TYPE, [reviewsRouteConfiguration()]);
    istiod.set(LISTENER_TYPE, [waypointListener()]);
    wp = await startRole(
      ['waypoint', '--gateway', 'default/waypoint', '--config', config.dir, '--state', ca.dir, '--quiet'],
      { host: block.waypoint(1), port: 15021 },
      30_000,
      { XDS_ADDRESS: `http://${istiod.address}`, POD_NAME: 'waypoint-5d8-x', POD_NAMESPACE: 'default', INSTANCE_IP: block.waypoint(1), ISTIO_META_CLUSTER_ID: 'Kubernetes' },
    );
  });
  after(async () => {
    await wp?.stop();
    await client?.close();
    istiod?.close();
    for (const e of echoes) await e.close(200);
    config?.remove();
    ca?.close();
  });

  it('subscribes with the node id from the environment; ready, config_dump, and a routed request', async () => {
    assert.match(wp?.stderr() ?? '', /config from files \+ xds envoy 127\.0\.0\.1:\d+/);
    const node = istiod.requests.find((r) => r.node)?.node;
    assert.equal(node?.['id'], `waypoint~${block.waypoint(1)}~waypoint-5d8-x.default~default.svc.cluster.local`);
    const dump = await httpText(block.waypoint(1), 15000, '/config_dump');
    assert.equal(dump.status, 200);
    assert.match(dump.body, /reviews-v1\.default\.svc\.cluster\.local/);
    const r = await client.get(block.waypoint(1), 'reviews.default.svc.cluster.local:9080', '/stable');
    assert.equal(r.status, 200, r.headers);
    assert.equal(r.report?.pod, 'default/xds-a');
    assert.match(r.headers, /x-served-by: stable/);
  });

  it('an endpoint push moves traffic', async () => {
    istiod.set(ENDPOINT_TYPE, [eds(CLUSTER_V1, [block.pod(251)]), eds(CLUSTER_V2, [block.pod(251)])]);
    await eventually(async () => {
      const r = await client.get(block.waypoint(1), 'reviews.default.svc.cluster.local:9080', '/stable');
      assert.equal(r.report?.pod, 'default/xds-b', r.headers);
    });
  });
});
