/**
 * VirtualService + DestinationRule through the real in-process mesh: a subset route sends every
 * request to v2 only; header-based routing, rewrites and header changes reach the echo app; and a
 * DestinationRule ROUND_ROBIN policy alternates endpoints on the default route of another port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const ROUTES = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  http:
    - name: jason
      match: [{headers: {end-user: {exact: jason}}}]
      route: [{destination: {host: reviews, subset: v1}}]
    - name: rewrite
      match: [{uri: {prefix: /legacy}}]
      rewrite: {uri: /modern, authority: modern.example}
      headers: {request: {set: {x-from-vs: "yes"}}, response: {set: {x-vs: done}}}
      route: [{destination: {host: reviews, subset: v2}}]
    - name: gone
      match: [{uri: {exact: /gone}}]
      directResponse: {status: 410, body: {string: "it is gone"}}
    - name: round-robin
      match: [{uri: {prefix: /rr}}]
      route: [{destination: {host: reviews}}]
    - name: all-to-v2
      route: [{destination: {host: reviews, subset: v2, port: {number: 9080}}}]
`;

describe('VirtualService and DestinationRule through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-vs.yaml': ROUTES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, { headers });

  it('sends everything to subset v2 only', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await get(`/p${i}`);
      assert.equal(res.status, 200);
      assert.equal(res.json<EchoReport>().pod, 'default/reviews-v2');
      assert.equal(res.headers['x-echo-pod'], 'default/reviews-v2');
    }
    const rec = mesh.waypointRecords.find((r) => r.path === '/p0');
    assert.equal(rec?.upstreamCluster, 'inbound-vip|9080|http/v2|reviews.default.svc.cluster.local');
    assert.equal(rec?.routeName, 'default.reviews.all-to-v2');
  });

  it('routes a header match to v1, first match first', async () => {
    const res = await get('/legacy/x', { 'end-user': 'jason' });
    assert.equal(res.json<EchoReport>().pod, 'default/reviews-v1');
    assert.equal(res.json<EchoReport>().path, '/legacy/x', 'the first rule matched, so no rewrite');
  });

  it('rewrites uri and authority, sets request and response headers', async () => {
    const res = await get('/legacy/x?y=1');
    const report = res.json<EchoReport>();
    assert.equal(report.pod, 'default/reviews-v2');
    assert.equal(report.path, '/modern/x?y=1');
    assert.equal(report.authority, 'modern.example');
    assert.equal(report.headers['x-envoy-original-path'], '/legacy/x?y=1');
    assert.equal(report.headers['x-from-vs'], 'yes');
    assert.equal(res.headers['x-vs'], 'done');
  });

  it('balances round robin, as the DestinationRule says, across both pods of the Service', async () => {
    const pods: string[] = [];
    for (let i = 0; i < 6; i++) pods.push((await get('/rr')).json<EchoReport>().pod);
    for (let i = 1; i < pods.length; i++) assert.notEqual(pods[i], pods[i - 1], pods.join(' '));
    assert.deepEqual([...new Set(pods)].sort(), ['default/reviews-v1', 'default/reviews-v2']);
  });

  it('answers a direct response', async () => {
    const res = await get('/gone');
    assert.equal(res.status, 410);
    assert.equal(res.body.toString(), 'it is gone');
  });
});
