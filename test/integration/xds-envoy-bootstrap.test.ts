/**
 * An Envoy bootstrap file's static_resources configure the real waypoint (client pod → ztunnel →
 * waypoint → ztunnel → echo) exactly as the same intent written as an HTTPRoute: the same backend
 * answers, with the same path and headers, and the client gets the same status and headers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { EnvoyBootstrapSource } from '../../src/sources/envoy-bootstrap-source.js';
import { INTENT_HTTPROUTE, intentBootstrap, REVIEWS_VERSION_SERVICES_YAML } from '../helpers/envoy-fixtures.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import type { LocalMesh } from '../helpers/local-mesh.js';

interface Outcome {
  status: number;
  pod?: string;
  path?: string;
  route?: string | string[];
  drop?: string | string[];
  servedBy?: string | string[];
  location?: string | string[];
}

const REQUESTS: readonly { path: string; headers?: Record<string, string> }[] = [
  { path: '/canary/x', headers: { 'x-canary': 'yes', 'x-drop': 'gone' } },
  { path: '/canary/x' },
  { path: '/exact' },
  { path: '/exact/not' },
  { path: '/api/items?q=1' },
  { path: '/apix' },
  { path: '/old/thing' },
  { path: '/' },
];

async function outcomes(mesh: LocalMesh): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const r of REQUESTS) {
    const res = await mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${r.path}`, { headers: r.headers ?? {} });
    const o: Outcome = { status: res.status, servedBy: res.headers['x-served-by'], location: res.headers['location'] };
    if (res.status === 200) {
      const e = res.json<EchoReport>();
      Object.assign(o, { pod: e.pod, path: e.path, route: e.headers['x-route'], drop: e.headers['x-drop'] });
    }
    out.push(o);
  }
  return out;
}

describe('Envoy bootstrap static_resources through the waypoint', () => {
  it('behaves like the same intent written as an HTTPRoute', async () => {
    const gw = await startLocalMesh({ extraFiles: { '90-versions.yaml': REVIEWS_VERSION_SERVICES_YAML, '91-route.yaml': INTENT_HTTPROUTE } });
    let viaHttpRoute: Outcome[];
    try {
      viaHttpRoute = await outcomes(gw);
    } finally {
      await gw.close();
    }
    const envoy = await startLocalMesh({
      extraFiles: { '90-versions.yaml': REVIEWS_VERSION_SERVICES_YAML },
      sources: async (config) => {
        config.write('envoy.json', JSON.stringify(intentBootstrap()));
        return [await EnvoyBootstrapSource.open({ file: path.join(config.dir, 'envoy.json'), waypoint: { namespace: 'default', name: 'waypoint' } })];
      },
    });
    try {
      const viaEnvoy = await outcomes(envoy);
      assert.deepEqual(viaEnvoy, viaHttpRoute);
      // The comparison is meaningful: both backends answered, headers were set, a redirect was sent.
      assert.equal(viaEnvoy[0]?.pod, 'default/reviews-v2');
      assert.equal(viaEnvoy[0]?.route, 'canary');
      assert.equal(viaEnvoy[0]?.drop, undefined);
      assert.equal(viaEnvoy[1]?.pod, 'default/reviews-v1');
      assert.equal(viaEnvoy[4]?.path, '/v2/api/items?q=1');
      assert.equal(viaEnvoy[6]?.status, 302);
      assert.equal(envoy.store.diagnostics().filter((d) => d.severity === 'error').length, 0, JSON.stringify(envoy.store.diagnostics()));
    } finally {
      await envoy.close();
    }
  });
});
