/**
 * AuthorizationPolicy attached to an HTTPRoute (our extension; Istio requests 59328/60531), on
 * the real mesh path (sleep → ztunnel → waypoint → ztunnel → echo). reviews:9080 has two
 * HTTPRoutes: route-a (`/a` → reviews-v1) and route-b (`/b` → reviews-v2). A route-scoped policy
 * joins the evaluation of the requests its route decides, next to the Service/Gateway policies,
 * with Istio's rule per request: any matching DENY denies; if any ALLOW applies, one must match.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { REVIEWS_VERSION_SERVICES_YAML } from '../helpers/mesh-fixtures.js';

const ROUTES_YAML = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-a, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /a}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route-b, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /b}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
`;

function policy(name: string, target: string, action: 'ALLOW' | 'DENY', paths: readonly string[]): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [${target}]
  action: ${action}
  rules: [{to: [{operation: {paths: ${JSON.stringify(paths)}}}]}]
`;
}

const ROUTE_A = '{group: gateway.networking.k8s.io, kind: HTTPRoute, name: route-a}';
const SERVICE = '{group: "", kind: Service, name: reviews}';

describe('AuthorizationPolicy targeting an HTTPRoute', () => {
  let mesh: LocalMesh;

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '70-versions.yaml': REVIEWS_VERSION_SERVICES_YAML, '71-routes.yaml': ROUTES_YAML } });
  });

  after(async () => {
    await mesh.close();
  });

  /** Replaces the policies under test and waits until the store has taken them. */
  async function policies(yaml: string): Promise<void> {
    const before = mesh.store.current().generation;
    mesh.config.write('72-policies.yaml', yaml === '' ? '# none\n' : yaml);
    await eventually(async () => {
      if (mesh.store.current().generation > before) return true;
      await mesh.store.reload();
      return mesh.store.current().generation > before;
    }, 10_000);
  }

  async function status(path: string): Promise<{ status: number; pod: string | undefined; body: string }> {
    const res = await mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`);
    const body = res.body.toString();
    return { status: res.status, pod: res.status === 200 ? res.json<{ pod: string }>().pod : undefined, body };
  }

  it('a route-scoped DENY denies only that route\'s requests', async () => {
    await policies(policy('deny-a-secret', ROUTE_A, 'DENY', ['*/secret']));
    const denied = await status('/a/secret');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'RBAC: access denied');
    const open = await status('/a/open');
    assert.equal(open.status, 200);
    assert.equal(open.pod, 'default/reviews-v1');
    const other = await status('/b/secret');
    assert.equal(other.status, 200, 'route-b is not governed by route-a\'s policy');
    assert.equal(other.pod, 'default/reviews-v2');
    const record = await mesh.waypointRecordFor('/a/secret');
    assert.equal(record.responseCodeDetails, 'rbac_access_denied_matched_policy[ns[default]-policy[deny-a-secret]-rule[0]]');
  });

  it('a route-scoped ALLOW on route A leaves route B open', async () => {
    await policies(policy('allow-a-public', ROUTE_A, 'ALLOW', ['/a/public']));
    assert.equal((await status('/a/public')).status, 200);
    const refused = await status('/a/other');
    assert.equal(refused.status, 403, 'an ALLOW applies to route A and none matches');
    const b = await status('/b/anything');
    assert.equal(b.status, 200, 'no ALLOW applies to route B requests');
    assert.equal(b.pod, 'default/reviews-v2');
  });

  it('with a Service-level ALLOW, either ALLOW matching admits a route A request (one combined evaluation)', async () => {
    await policies(`${policy('allow-a-public', ROUTE_A, 'ALLOW', ['/a/public'])}---\n${policy('allow-svc', SERVICE, 'ALLOW', ['/b/*', '/a/shared'])}`);
    assert.equal((await status('/a/public')).status, 200, 'matched by the route ALLOW only');
    assert.equal((await status('/a/shared')).status, 200, 'matched by the Service ALLOW only');
    assert.equal((await status('/a/other')).status, 403, 'matched by neither');
    assert.equal((await status('/b/x')).status, 200, 'route B: the Service ALLOW matches');
    assert.equal((await status('/b/public')).status, 200);
    // Route A's ALLOW is not consulted for route B: /a/public's rule does not admit /b paths.
    await policies(`${policy('allow-a-all', ROUTE_A, 'ALLOW', ['*'])}---\n${policy('allow-svc', SERVICE, 'ALLOW', ['/b/only'])}`);
    assert.equal((await status('/a/anything')).status, 200, 'route A: its own ALLOW matches');
    assert.equal((await status('/b/only')).status, 200);
    assert.equal((await status('/b/other')).status, 403, 'route B: only the Service ALLOW applies, and it does not match');
  });

  it('a Service-level DENY still applies to a route with its own ALLOW', async () => {
    await policies(`${policy('allow-a-all', ROUTE_A, 'ALLOW', ['*'])}---\n${policy('deny-svc', SERVICE, 'DENY', ['/a/blocked'])}`);
    assert.equal((await status('/a/ok')).status, 200);
    assert.equal((await status('/a/blocked')).status, 403);
    await policies('');
  });
});
