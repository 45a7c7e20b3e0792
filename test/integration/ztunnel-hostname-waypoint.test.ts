/**
 * A cluster waypoint as istiod sees it: its Gateway's only address is the host name of its own
 * Service (`waypoint.default.svc.cluster.local`), the waypoint pod listens on its pod IP, and the
 * client ztunnel reaches it through that Service's endpoints (as Istio's ztunnel resolves a
 * hostname waypoint address). Driven from a pod through the local mesh over real HBONE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Waypoint } from '../../src/waypoint/waypoint.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

/** The default namespace's waypoint, as `istioctl waypoint apply` leaves it in a cluster. */
const HOSTNAME_WAYPOINT_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: default
  labels: {istio.io/waypoint-for: service}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: Hostname, value: waypoint.default.svc.cluster.local}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: waypoint, namespace: default}
---
apiVersion: v1
kind: Service
metadata: {name: waypoint, namespace: default}
spec:
  clusterIP: 127.100.0.40
  selector: {gateway.networking.k8s.io/gateway-name: waypoint}
  ports: [{name: mesh, port: 15008, targetPort: 15008}]
---
# The waypoint's own pod is not captured by ztunnel (Istio labels it out of ambient).
apiVersion: v1
kind: Pod
metadata:
  name: waypoint-0
  namespace: default
  labels: {gateway.networking.k8s.io/gateway-name: waypoint, istio.io/dataplane-mode: none}
spec:
  nodeName: node-b
  serviceAccountName: waypoint
  containers: [{name: istio-proxy, image: waypoint, ports: [{name: mesh, containerPort: 15008}]}]
status: {podIP: 127.1.0.40}
`;

describe('ztunnel: a waypoint known only by its Service host name', () => {
  let mesh: LocalMesh;
  let waypoint: Waypoint;
  let podIp: string;

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '10-waypoint.yaml': HOSTNAME_WAYPOINT_YAML }, skipWaypoints: true });
    podIp = mesh.pod('default', 'waypoint-0').ip;
    // What the Deployment runs: `ambient waypoint --bind instance-ip` with INSTANCE_IP = the pod IP.
    waypoint = new Waypoint({ waypoint: { namespace: 'default', name: 'waypoint' }, view: mesh.store, certs: mesh.certs, pool: mesh.waypointPool, bindAddresses: [podIp] });
    await waypoint.start();
  });

  after(async () => {
    await waypoint?.close(200);
    await mesh?.close();
  });

  it('resolves the host name to the Service endpoints and sends service traffic through the waypoint', async () => {
    const view = mesh.store.current();
    const wp = view.waypoint('default', 'waypoint');
    assert.ok(wp);
    assert.deepEqual(wp.addresses, []);
    assert.deepEqual(view.waypointAddresses(wp), [podIp]);
    const before = waypoint.stats().server.connectionsTotal;
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/through-hostname-waypoint');
    assert.equal(res.status, 200);
    assert.equal(res.json<{ path: string }>().path, '/through-hostname-waypoint');
    // The waypoint served it (an L7 hop: its access record), over a tunnel to its pod IP.
    assert.ok(waypoint.stats().server.connectionsTotal > before);
    const rec = await eventually(() => {
      const r = mesh.ztunnelRecords.find((x) => x.direction === 'outbound' && x.dstAddr === `${podIp}:15008`);
      assert.ok(r, 'the client ztunnel dialed the waypoint pod');
      return r;
    });
    assert.equal(rec.dstIdentity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  });

  it('with no endpoint and no VIP the connection is refused with NO_HEALTHY_UPSTREAM, not sent around the waypoint', async () => {
    const yaml = HOSTNAME_WAYPOINT_YAML.replace(/---\napiVersion: v1\nkind: Service[\s\S]*$/, '');
    mesh.config.write('10-waypoint.yaml', yaml);
    await eventually(() => assert.equal(mesh.store.current().serviceByHostname('waypoint.default.svc.cluster.local'), undefined));
    await assert.rejects(mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/'));
    const rec = await eventually(() => {
      const r = [...mesh.ztunnelRecords].reverse().find((x) => x.direction === 'outbound' && x.failure === 'NO_HEALTHY_UPSTREAM');
      assert.ok(r, 'a refused outbound record');
      return r;
    });
    assert.match(rec.error ?? '', /waypoint default\/waypoint has no address/);
  });
});
