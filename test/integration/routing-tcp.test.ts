/**
 * VirtualService `tcp` routes through the real in-process mesh: connections to a TCP service port
 * are split by weight between a DestinationRule subset and another Service's port, applied by the
 * waypoint's TCP proxy; the data is echoed intact whichever backend took it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { echoRoundTrip, startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { TCP_ALT_SERVICE_YAML } from '../helpers/mesh-fixtures.js';
import { seededRandom } from '../helpers/seeded-random.js';

const FILES = `
apiVersion: v1
kind: Pod
metadata: {name: tcp-echo-v2, namespace: default, labels: {app: tcp-echo, version: v2}}
spec:
  nodeName: node-a
  containers: [{name: tcp-echo, image: echo, ports: [{name: tcp-echo, containerPort: 9000}]}]
status: {podIP: 127.1.0.41}
---
${TCP_ALT_SERVICE_YAML}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tcp-echo, namespace: default}
spec:
  host: tcp-echo
  subsets: [{name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tcp-echo, namespace: default}
spec:
  hosts: [tcp-echo]
  tcp:
    - match: [{port: 9999}]
      route: [{destination: {host: tcp-alt, port: {number: 9100}}}]
    - match: [{port: 9000}]
      route:
        - {destination: {host: tcp-echo, subset: v2}, weight: 70}
        - {destination: {host: tcp-alt, port: {number: 9100}}, weight: 30}
`;

const V2 = 'inbound-vip|9000|tcp/v2|tcp-echo.default.svc.cluster.local';
const ALT = 'inbound-vip|9100|tcp|tcp-alt.default.svc.cluster.local';

describe('VirtualService tcp routes through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-tcp-routes.yaml': FILES }, random: seededRandom(7) });
  });
  after(async () => {
    await mesh?.close();
  });

  /** One connection: sends a payload, half-closes, and checks the echo. */
  async function roundTrip(port: number): Promise<void> {
    const payload = randomBytes(1024);
    assert.deepEqual(await echoRoundTrip(mesh, mesh.pod('default', 'sleep'), 'tcp-echo', port, payload), payload);
  }

  it('skips a rule for another port and splits 70/30 between a subset and another Service', async () => {
    const n = 60;
    for (let i = 0; i < n; i++) await roundTrip(9000);
    const recs = await eventually(() => {
      const r = mesh.waypointRecords.filter((x) => x.kind === 'tcp' && x.downstreamLocalAddress?.endsWith(':9000'));
      assert.equal(r.length, n);
      return r;
    });
    const v2 = recs.filter((r) => r.upstreamCluster === V2).length;
    const alt = recs.filter((r) => r.upstreamCluster === ALT).length;
    assert.equal(v2 + alt, n, 'every connection went to one of the two destinations');
    assert.ok(v2 > n * 0.5 && v2 < n * 0.9, `v2 got ${v2} of ${n}`);
    assert.ok(recs.every((r) => r.upstreamCluster !== V2 || r.upstreamHost?.startsWith(mesh.pod('default', 'tcp-echo-v2').ip)), 'subset v2 only');
  });
});
