/**
 * GAMMA details through the real in-process mesh: TCPRoute on a Service's TCP port, ReferenceGrant
 * for cross-namespace backendRefs (granted → served, not granted → the spec's 500), and consumer
 * routes (an HTTPRoute in the client's namespace applies to that namespace's clients only).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { echoRoundTrip, startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { REVIEWS_VERSION_SERVICES_YAML, TCP_ALT_SERVICE_YAML } from '../helpers/mesh-fixtures.js';

const FILES = `
${REVIEWS_VERSION_SERVICES_YAML}---
${TCP_ALT_SERVICE_YAML}---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: tcp-echo, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: tcp-echo, port: 9000}]
  rules:
    - backendRefs: [{name: tcp-alt, port: 9100}]
---
apiVersion: v1
kind: Service
metadata: {name: granted, namespace: other}
spec:
  clusterIP: 127.100.0.35
  selector: {app: other-echo}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: refused, namespace: other}
spec:
  clusterIP: 127.100.0.36
  selector: {app: other-echo}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: other-echo, namespace: other, labels: {app: other-echo}}
spec:
  nodeName: node-b
  containers: [{name: echo, image: echo, ports: [{name: http, containerPort: 9080}]}]
status: {podIP: 127.1.0.43}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: routes-from-default, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service, name: granted}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /granted}}]
      backendRefs: [{name: granted, namespace: other, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /refused}}]
      backendRefs: [{name: refused, namespace: other, port: 9080}]
    - backendRefs: [{name: reviews-v1, port: 9080}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: consumers-from-other, namespace: default}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: other}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-for-other, namespace: other}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, namespace: default, port: 9080}]
  rules:
    - backendRefs: [{name: reviews-v2, namespace: default, port: 9080}]
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-consumer-route, value: other}]}}]
`;

describe('GAMMA: TCPRoute, ReferenceGrant and consumer routes through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-gamma.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const get = async (from: [string, string], path: string): Promise<{ status: number; report?: EchoReport }> => {
    const res = await mesh.request(mesh.pod(...from), `http://reviews.default.svc.cluster.local:9080${path}`);
    return { status: res.status, ...(res.status === 200 ? { report: res.json<EchoReport>() } : {}) };
  };

  it('sends a TCPRoute port\'s connections to its backend, data intact', async () => {
    const payload = randomBytes(2048);
    assert.deepEqual(await echoRoundTrip(mesh, mesh.pod('default', 'sleep'), 'tcp-echo', 9000, payload), payload);
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.kind === 'tcp' && x.downstreamLocalAddress?.endsWith(':9000'));
      assert.ok(r);
      return r;
    });
    assert.equal(rec.upstreamCluster, 'inbound-vip|9100|tcp|tcp-alt.default.svc.cluster.local');
  });

  it('serves a cross-namespace backend a ReferenceGrant allows, and answers 500 for one it does not', async () => {
    const granted = await get(['default', 'sleep'], '/granted');
    assert.equal(granted.status, 200);
    assert.equal(granted.report?.pod, 'other/other-echo');
    const refused = await get(['default', 'sleep'], '/refused');
    assert.equal(refused.status, 500);
  });

  it('applies a consumer route to clients of its namespace only', async () => {
    for (let i = 0; i < 4; i++) {
      const fromOther = await get(['other', 'notsleep'], '/anything');
      assert.equal(fromOther.status, 200);
      assert.equal(fromOther.report?.pod, 'default/reviews-v2', 'the consumer route picks v2');
      assert.equal(fromOther.report?.headers['x-consumer-route'], 'other');
      const fromDefault = await get(['default', 'sleep'], '/anything');
      assert.equal(fromDefault.status, 200);
      assert.equal(fromDefault.report?.pod, 'default/reviews-v1', 'the producer route picks v1');
      assert.equal(fromDefault.report?.headers['x-consumer-route'], undefined);
    }
  });
});
