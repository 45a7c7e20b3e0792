/**
 * Istio 1.30's `ambient.istio.io/xfcc-include-client-identity` through the local mesh: the app
 * behind the waypoint sees `x-forwarded-client-cert: By=<waypoint>;URI=<client>` taken from the
 * HBONE peer's certificate, replacing whatever the client sent; without the annotation nothing
 * is added and a client's XFCC is removed. Live: the annotation is toggled on the running mesh.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const DEFAULT_WAYPOINT = readFileSync(new URL('../../../deploy/local/default/10-waypoint.yaml', import.meta.url), 'utf8');
const ANNOTATED = DEFAULT_WAYPOINT.replace(
  / {2}namespace: default\n {2}labels:\n {4}istio.io\/waypoint-for: service\n/,
  '  namespace: default\n  labels:\n    istio.io/waypoint-for: service\n  annotations:\n    ambient.istio.io/xfcc-include-client-identity: "True"\n',
);

const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const SLEEP_ID = 'spiffe://cluster.local/ns/default/sa/sleep';

describe('waypoint XFCC with the client identity (ambient.istio.io/xfcc-include-client-identity)', () => {
  let mesh: LocalMesh;

  before(async () => {
    assert.notEqual(ANNOTATED, DEFAULT_WAYPOINT, 'the fixture was annotated');
    mesh = await startLocalMesh({ extraFiles: { '10-waypoint.yaml': ANNOTATED } });
  });

  after(async () => {
    await mesh?.close();
  });

  const seen = async (headers: Record<string, string> = {}): Promise<string | undefined> => {
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/xfcc', { headers });
    assert.equal(res.status, 200);
    const h = res.json<{ headers: Record<string, string | string[]> }>().headers['x-forwarded-client-cert'];
    return Array.isArray(h) ? h.join(',') : h;
  };

  it('the app sees By=<waypoint>;URI=<client>', async () => {
    assert.equal(mesh.store.current().waypoint('default', 'waypoint')?.xfccClientIdentity, true);
    assert.equal(await seen(), `By=${WAYPOINT_ID};URI=${SLEEP_ID}`);
  });

  it('a client-sent XFCC is replaced, never appended to', async () => {
    assert.equal(await seen({ 'x-forwarded-client-cert': 'By=spiffe://evil/x;URI=spiffe://cluster.local/ns/default/sa/admin' }), `By=${WAYPOINT_ID};URI=${SLEEP_ID}`);
  });

  it('without the annotation nothing is added, and a client-sent XFCC is removed (Envoy sanitizes it)', async () => {
    mesh.config.write('10-waypoint.yaml', DEFAULT_WAYPOINT);
    await eventually(() => assert.equal(mesh.store.current().waypoint('default', 'waypoint')?.xfccClientIdentity, undefined));
    assert.equal(await seen(), undefined);
    assert.equal(await seen({ 'x-forwarded-client-cert': 'By=spiffe://evil/x;URI=spiffe://cluster.local/ns/default/sa/admin' }), undefined);
  });
});
