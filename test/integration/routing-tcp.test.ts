/**
 * VirtualService `tcp` routes through the real in-process mesh: connections to a TCP service port
 * are split by weight between a DestinationRule subset and another Service's port, applied by the
 * waypoint's TCP proxy; the data is echoed intact whichever backend took it. TLS routes (VirtualService
 * `tls`, TLSRoute) pick a backend by the server name of a real ClientHello, passed through untouched.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { captureClientHello } from '../helpers/client-hello.js';
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

/** A TCP echo pod of the `secure` Service, version `version`, at 127.1.0.<n>. */
const securePod = (version: string, node: string, n: number): string => `apiVersion: v1
kind: Pod
metadata: {name: secure-${version}, namespace: default, labels: {app: secure, version: ${version}}}
spec:
  nodeName: ${node}
  containers: [{name: secure, image: echo, ports: [{name: tcp-echo, containerPort: 9443}]}]
status: {podIP: 127.1.0.${n}}
`;

/** A TLS Service (two versions behind it) the waypoint routes by server name without terminating TLS. */
const TLS_FILES = `
apiVersion: v1
kind: Service
metadata: {name: secure, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.35
  selector: {app: secure}
  ports: [{name: tls, port: 443, targetPort: 9443}]
---
${securePod('a', 'node-a', 43)}---
${securePod('b', 'node-b', 44)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: secure, namespace: default}
spec:
  host: secure
  subsets: [{name: a, labels: {version: a}}, {name: b, labels: {version: b}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure, namespace: default}
spec:
  hosts: [secure]
  tls:
    - match: [{port: 443, sniHosts: [a.secure.example]}]
      route: [{destination: {host: secure, subset: a}}]
    - match: [{sniHosts: ["*.secure.example"]}]
      route: [{destination: {host: secure, subset: b}}]
`;

const SECURE_A = 'inbound-vip|443|tcp/a|secure.default.svc.cluster.local';
const SECURE_B = 'inbound-vip|443|tcp/b|secure.default.svc.cluster.local';

describe('TLS routes by server name through the waypoint (VirtualService tls, TLSRoute)', () => {
  let mesh: LocalMesh;
  const hellos = new Map<string, Buffer>();
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-tls-routes.yaml': TLS_FILES } });
    for (const name of ['a.secure.example', 'b.secure.example', 'other.example']) hellos.set(name, await captureClientHello(name));
  });
  after(async () => {
    await mesh?.close();
  });

  /** One connection opening with a real ClientHello for `sni`: the bytes pass intact; returns the cluster that took it. */
  async function clusterFor(payload: Buffer): Promise<string | undefined> {
    const before = mesh.waypointRecords.length;
    assert.deepEqual(await echoRoundTrip(mesh, mesh.pod('default', 'sleep'), 'secure', 443, payload), payload);
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.slice(before).find((x) => x.kind === 'tcp' && x.downstreamLocalAddress?.endsWith(':443'));
      assert.ok(r);
      return r;
    });
    return rec.upstreamCluster;
  }

  it('an exact server name, then a wildcard, pick their subsets; other names and non-TLS take the default route', async () => {
    assert.equal(await clusterFor(hellos.get('a.secure.example') as Buffer), SECURE_A);
    assert.equal(await clusterFor(hellos.get('b.secure.example') as Buffer), SECURE_B);
    const fallback = await clusterFor(hellos.get('other.example') as Buffer);
    assert.ok(fallback !== SECURE_A && fallback !== SECURE_B && fallback?.includes('secure.default.svc'), `default route: ${fallback}`);
    assert.equal(await clusterFor(Buffer.from('not tls at all\n')), fallback);
  });

  it('a TLSRoute attached to the Service takes over from the VirtualService, matching its hostnames', async () => {
    mesh.config.write(
      '91-tls-route.yaml',
      `apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: secure, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: secure, port: 443}]
  hostnames: ["b.secure.example"]
  rules: [{backendRefs: [{name: secure-a-only, port: 443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: secure-a-only, namespace: default}
spec:
  clusterIP: 127.100.0.36
  selector: {app: secure, version: a}
  ports: [{name: tls, port: 443, targetPort: 9443}]
`,
    );
    const ONLY_A = 'inbound-vip|443|tcp|secure-a-only.default.svc.cluster.local';
    await eventually(async () => assert.equal(await clusterFor(hellos.get('b.secure.example') as Buffer), ONLY_A), 10_000);
    assert.notEqual(await clusterFor(hellos.get('a.secure.example') as Buffer), ONLY_A);
  });
});
