/**
 * A security policy rejected with no previous version fails closed on the live local mesh: a new
 * ALLOW with an error leaves its target allowing nothing (not open to everyone), a new DENY with an
 * error denies everything, and fixing the object restores what it says. Before, such a policy was
 * simply absent: a typo in a first ALLOW policy left the service open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

/** An L7 ALLOW on reviews; `bad` puts an invalid CIDR in it (rejected, as Istio's webhook does). */
const allowOnReviews = (bad: boolean): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-sleep, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules:
    - from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]${bad ? ', ipBlocks: ["300.1.2.3/8"]' : ''}}}]
`;

/** An L4 DENY on ratings; `bad` gives a port out of range. */
const denyOnRatings = (bad: boolean): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-other, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules:
    - from: [{source: {namespaces: ["other"]}}]
      to: [{operation: {ports: ["${bad ? '70000' : '9080'}"]}}]
`;

describe('rejected security policy without a previous version: fail-closed stand-in', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;
  let notsleep: WorkloadIR;
  const standIns = (): string[] => mesh.store.diagnostics().filter((d) => d.code === 'FAIL_CLOSED_STAND_IN').map((d) => d.name ?? '');

  before(async () => {
    mesh = await startLocalMesh();
    sleep = mesh.pod('default', 'sleep');
    notsleep = mesh.pod('other', 'notsleep');
  });
  after(async () => {
    await mesh?.close();
  });

  it('a new L7 ALLOW with an error allows nothing until fixed', async () => {
    assert.equal((await mesh.request(notsleep, 'http://reviews.default:9080/')).status, 200, 'open before any policy');
    mesh.config.write('95-allow.yaml', allowOnReviews(true));
    await eventually(() => assert.deepEqual(standIns(), ['allow-sleep']));
    await eventually(async () => assert.equal((await mesh.request(sleep, 'http://reviews:9080/')).status, 403));
    assert.equal((await mesh.request(notsleep, 'http://reviews.default:9080/')).status, 403);

    mesh.config.write('95-allow.yaml', allowOnReviews(false));
    await eventually(async () => assert.equal((await mesh.request(sleep, 'http://reviews:9080/')).status, 200));
    assert.equal((await mesh.request(notsleep, 'http://reviews.default:9080/')).status, 403);
    assert.deepEqual(standIns(), []);
  });

  it('an edited ALLOW with an error keeps its previous version, not the stand-in', async () => {
    mesh.config.write('95-allow.yaml', allowOnReviews(true));
    await eventually(() => assert.ok(mesh.store.diagnostics().some((d) => d.code === 'KEPT_PREVIOUS' && d.name === 'allow-sleep')));
    assert.equal((await mesh.request(sleep, 'http://reviews:9080/')).status, 200);
    assert.deepEqual(standIns(), []);
    mesh.config.write('95-allow.yaml', '');
  });

  it('a new L4 DENY with an error denies every connection until fixed', async () => {
    await eventually(async () => assert.equal((await mesh.request(sleep, 'http://ratings:9080/')).status, 200));
    mesh.config.write('96-deny.yaml', denyOnRatings(true));
    await eventually(() => assert.deepEqual(standIns(), ['deny-other']));
    await eventually(() => assert.rejects(mesh.request(sleep, 'http://ratings:9080/')));

    mesh.config.write('96-deny.yaml', denyOnRatings(false));
    await eventually(async () => assert.equal((await mesh.request(sleep, 'http://ratings:9080/')).status, 200));
    assert.deepEqual(standIns(), []);
  });
});
