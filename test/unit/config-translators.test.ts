import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { selectAppProtocol } from '../../src/config/from-k8s/app-protocol.js';
import { demoAppOf } from '../../src/config/from-k8s/pod.js';
import type { Snapshot } from '../../src/config/ir.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';

function build(yaml: string, localRanges = true): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  const t = translateFile('mesh.yaml', yaml, { localRanges });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  const b = buildSnapshot(objects, 1);
  return { snapshot: b.snapshot, diagnostics: [...t.diagnostics, ...b.diagnostics] };
}

const ns = (name: string, labels: Record<string, string> = {}): string => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}
---`;

const waypoint = (name: string, namespace: string, ip: string, extraLabels = '{}'): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: ${extraLabels}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: ${ip}}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---`;

const service = (name: string, namespace: string, vip: string, labels: Record<string, string> = {}): string => `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: ${JSON.stringify(labels)}
spec:
  clusterIP: ${vip}
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: 8080}]
---`;

describe('Namespace / Pod translation', () => {
  const yaml = `${ns('apps', { 'istio.io/dataplane-mode': 'ambient' })}${ns('plain')}
apiVersion: v1
kind: Pod
metadata:
  name: web-5c9d7f-x2k4q
  namespace: apps
  labels: {app: web, pod-template-hash: 5c9d7f, service.istio.io/canonical-revision: canary}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5c9d7f, uid: u1}]
spec:
  nodeName: node-1
  serviceAccountName: web-sa
  containers:
    - name: app
      image: ambient/echo
      ports: [{name: http, containerPort: 8080}, {containerPort: 9090, protocol: UDP}]
status:
  podIP: 127.1.0.2
---
apiVersion: v1
kind: Pod
metadata: {name: opted-out, namespace: apps, labels: {istio.io/dataplane-mode: none}}
spec: {nodeName: node-1, containers: [{name: c, image: nginx}]}
status: {podIP: 127.1.0.3}
---
apiVersion: v1
kind: Pod
metadata: {name: enrolled, namespace: plain, labels: {istio.io/dataplane-mode: ambient, app.kubernetes.io/name: shop, app.kubernetes.io/version: "2"}}
spec: {nodeName: node-2, containers: [{name: c, image: nginx}]}
status: {podIP: 127.1.0.4}
---
apiVersion: v1
kind: Pod
metadata: {name: outside}
spec: {nodeName: node-2, containers: [{name: c, image: nginx}]}
status: {podIP: 127.1.0.5}
`;
  const { snapshot, diagnostics } = build(yaml);

  it('accepts everything without diagnostics', () => {
    assert.deepEqual(diagnostics, []);
    assert.equal(snapshot.workloads.size, 4);
    assert.deepEqual(snapshot.namespaces.get('apps')?.labels, { 'istio.io/dataplane-mode': 'ambient' });
  });

  it('derives identity, node, workload name, canonical labels and demo app', () => {
    const w = snapshot.workloads.get('Pod/apps/web-5c9d7f-x2k4q');
    assert.ok(w);
    assert.equal(w.identity, 'spiffe://cluster.local/ns/apps/sa/web-sa');
    assert.equal(w.serviceAccount, 'web-sa');
    assert.equal(w.ip, '127.1.0.2');
    assert.equal(w.node, 'node-1');
    assert.equal(w.protocol, 'HBONE');
    assert.equal(w.workloadName, 'web');
    assert.equal(w.canonicalName, 'web');
    assert.equal(w.canonicalRevision, 'canary');
    assert.deepEqual(w.containerPorts, [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { port: 9090, protocol: 'UDP' },
    ]);
    assert.deepEqual(w.demoApp, { kind: 'echo', ports: [8080] });
    assert.deepEqual(w.origin, { source: 'mesh.yaml', line: yaml.split('\n').indexOf('kind: Pod') });
  });

  it('dataplane mode: Pod `none` opts out of an ambient namespace; a Pod label enrolls alone', () => {
    assert.equal(snapshot.workloads.get('Pod/apps/opted-out')?.protocol, 'TCP');
    const enrolled = snapshot.workloads.get('Pod/plain/enrolled');
    assert.equal(enrolled?.protocol, 'HBONE');
    assert.equal(enrolled?.canonicalName, 'shop');
    assert.equal(enrolled?.canonicalRevision, '2');
    assert.equal(enrolled?.identity, 'spiffe://cluster.local/ns/plain/sa/default');
  });

  it('defaults: namespace `default`, no owner → pod name, revision `latest`, TCP', () => {
    const w = snapshot.workloads.get('Pod/default/outside');
    assert.equal(w?.workloadName, 'outside');
    assert.equal(w?.canonicalName, 'outside');
    assert.equal(w?.canonicalRevision, 'latest');
    assert.equal(w?.protocol, 'TCP');
    assert.equal(w?.demoApp, undefined);
  });

  it('snapshot and its contents are frozen', () => {
    const w = snapshot.workloads.get('Pod/default/outside');
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(w) && Object.isFrozen(w?.labels));
    assert.throws(() => (snapshot.workloads as Map<string, unknown>).set('x', {}), TypeError);
  });
});

describe('demo image detection', () => {
  const ports = [{ port: 8080, protocol: 'TCP' as const }];
  for (const image of ['echo', 'echo:1', 'ambient/echo', 'ghcr.io/org/echo:v2', 'localhost:5000/echo', 'echo@sha256:abc']) {
    it(`${image} → echo`, () => assert.deepEqual(demoAppOf(image, ports), { kind: 'echo', ports: [8080] }));
  }
  for (const image of ['nginx', 'echoserver', 'ambient/echo-server:1', 'echo/other', 'my-echo']) {
    it(`${image} → none`, () => assert.equal(demoAppOf(image, ports), undefined));
  }
});

describe('Service translation', () => {
  it('keeps a named targetPort as a string and defaults targetPort to port', () => {
    const { snapshot, diagnostics } = build(`
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIPs: [127.100.1.1]
  clusterIP: 127.100.1.1
  ports:
    - {name: http-web, port: 80, targetPort: web}
    - {name: grpc, port: 9000}
    - {name: db, port: 5432, protocol: UDP}
`);
    assert.deepEqual(diagnostics, []);
    const s = snapshot.services.get('shop/api');
    assert.ok(s);
    assert.equal(s.hostname, 'api.shop.svc.cluster.local');
    assert.deepEqual(s.vips, ['127.100.1.1']);
    assert.deepEqual(s.ports, [
      { name: 'http-web', port: 80, targetPort: 'web', appProtocol: 'http' },
      { name: 'grpc', port: 9000, targetPort: 9000, appProtocol: 'grpc' },
    ]);
    assert.equal(s.selector, undefined);
  });

  it('headless Service has no VIP and no diagnostic', () => {
    const { snapshot, diagnostics } = build(`
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, ports: [{port: 5432}]}
`);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('default/db')?.vips, []);
  });
});

describe('protocol selection', () => {
  const cases: [string | undefined, string | undefined, number, string][] = [
    ['http', 'tcp-x', 80, 'http'],
    ['HTTP2', undefined, 80, 'http2'],
    ['grpc', undefined, 80, 'grpc'],
    ['kubernetes.io/h2c', 'tcp', 80, 'http2'],
    ['kubernetes.io/ws', undefined, 80, 'http'],
    ['https', undefined, 443, 'tls'],
    ['tls', undefined, 443, 'tls'],
    ['tcp', 'http', 80, 'tcp'],
    ['custom', 'http', 80, 'unknown'],
    [undefined, 'http', 80, 'http'],
    [undefined, 'http-api', 80, 'http'],
    [undefined, 'http2-x', 80, 'http2'],
    [undefined, 'grpc-svc', 80, 'grpc'],
    [undefined, 'grpc-web', 80, 'http'],
    [undefined, 'tcp-db', 80, 'tcp'],
    [undefined, 'tls-x', 80, 'tls'],
    [undefined, 'https-x', 80, 'tls'],
    [undefined, 'mongo', 80, 'tcp'],
    [undefined, 'mysql', 80, 'tcp'],
    [undefined, 'redis', 80, 'tcp'],
    [undefined, 'httpx', 80, 'unknown'],
    [undefined, 'web', 80, 'unknown'],
    [undefined, undefined, 80, 'unknown'],
    [undefined, 'db', 3306, 'tcp'],
  ];
  for (const [appProtocol, name, port, want] of cases) {
    it(`appProtocol=${appProtocol} name=${name} port=${port} → ${want}`, () => {
      assert.equal(selectAppProtocol(appProtocol, name, port), want);
    });
  }
});

describe('waypoint binding', () => {
  it('by Service label', () => {
    const { snapshot, diagnostics } = build(`${waypoint('wp', 'a', '127.2.0.1')}${service('svc', 'a', '127.100.0.1', { 'istio.io/use-waypoint': 'wp' })}`);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('a/svc')?.waypoint, { namespace: 'a', name: 'wp' });
    const wp = snapshot.waypoints.get('a/wp');
    assert.equal(wp?.identity, 'spiffe://cluster.local/ns/a/sa/wp');
    assert.equal(wp?.serviceAccount, 'wp');
    assert.equal(wp?.hbonePort, 15008);
    assert.equal(wp?.waypointFor, 'service');
    assert.deepEqual(wp?.addresses, ['127.2.0.1']);
  });

  it('by Namespace label; `none` on the Service opts out; Service label wins', () => {
    const { snapshot, diagnostics } = build(
      `${ns('b', { 'istio.io/use-waypoint': 'ns-wp' })}${waypoint('ns-wp', 'b', '127.2.0.2')}${waypoint('other', 'b', '127.2.0.3', '{istio.io/waypoint-for: all}')}` +
        `${service('inherits', 'b', '127.100.0.2')}${service('optout', 'b', '127.100.0.3', { 'istio.io/use-waypoint': 'none' })}` +
        `${service('own', 'b', '127.100.0.4', { 'istio.io/use-waypoint': 'other' })}`,
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('b/inherits')?.waypoint, { namespace: 'b', name: 'ns-wp' });
    assert.equal(snapshot.services.get('b/optout')?.waypoint, undefined);
    assert.deepEqual(snapshot.services.get('b/own')?.waypoint, { namespace: 'b', name: 'other' });
    assert.equal(snapshot.waypoints.get('b/other')?.waypointFor, 'all');
  });

  it('use-waypoint-namespace points at another namespace', () => {
    const { snapshot, diagnostics } = build(
      `${waypoint('shared', 'infra', '127.2.0.4')}${service('svc', 'c', '127.100.0.5', { 'istio.io/use-waypoint': 'shared', 'istio.io/use-waypoint-namespace': 'infra' })}`,
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('c/svc')?.waypoint, { namespace: 'infra', name: 'shared' });
  });

  it('a missing waypoint → REF_NOT_FOUND warning and no waypoint', () => {
    const yaml = service('svc', 'd', '127.100.0.6', { 'istio.io/use-waypoint': 'ghost' });
    const { snapshot, diagnostics } = build(yaml);
    assert.equal(snapshot.services.get('d/svc')?.waypoint, undefined);
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]?.code, 'REF_NOT_FOUND');
    assert.equal(diagnostics[0]?.severity, 'warning');
    assert.equal(diagnostics[0]?.field, 'metadata.labels.istio.io/use-waypoint');
    assert.equal(diagnostics[0]?.line, yaml.split('\n').findIndex((l) => l.startsWith('  labels:')) + 1);
  });

  it('Gateways of other classes are skipped silently', () => {
    const { snapshot, diagnostics } = build(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP}]
`);
    assert.deepEqual(diagnostics, []);
    assert.equal(snapshot.waypoints.size, 0);
  });
});

describe('mesh settings', () => {
  it('trustDomain and rootNamespace come from the istio ConfigMap', () => {
    const { snapshot, diagnostics } = build(`
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: corp.example
    rootNamespace: mesh-root
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {anything: goes}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {nodeName: n, containers: [{name: c, image: x}]}
status: {podIP: 127.1.0.9}
`);
    assert.deepEqual(diagnostics, []);
    assert.equal(snapshot.mesh.trustDomain, 'corp.example');
    assert.equal(snapshot.mesh.rootNamespace, 'mesh-root');
    assert.equal(snapshot.workloads.get('Pod/default/p')?.identity, 'spiffe://corp.example/ns/default/sa/default');
  });

  it('defaults without the ConfigMap; localRanges=false accepts cluster addresses', () => {
    const { snapshot, diagnostics } = build(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {nodeName: n, containers: [{name: c, image: x}]}
status: {podIP: 127.9.0.9}
`, false);
    assert.deepEqual(diagnostics, []);
    assert.equal(snapshot.mesh.trustDomain, 'cluster.local');
    assert.equal(snapshot.workloads.get('Pod/default/p')?.ip, '127.9.0.9');
  });
});
