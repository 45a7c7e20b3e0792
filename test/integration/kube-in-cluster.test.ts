/**
 * A pod's own service account as Kubernetes API credentials without @kubernetes/client-node: the
 * API transport reaches an HTTPS server trusted through `ca.crt` and sends the `token` file as a
 * bearer token, re-read after 60 s (a rotated projected token is used), a server the CA did not
 * sign is refused, and the in-cluster path is taken exactly when client-node's default order
 * would take it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InClusterCredentials, inClusterApplies } from '../../src/sources/in-cluster-credentials.js';
import { KubeApiClient } from '../../src/sources/kube-api-client.js';
import { httpsTestCa } from '../helpers/https-test-ca.js';

describe('in-cluster Kubernetes credentials', () => {
  const ca = httpsTestCa();
  const other = httpsTestCa();
  const seen: (string | undefined)[] = [];
  let server: Server;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-in-cluster-'));
    writeFileSync(join(dir, 'ca.crt'), ca.rootPem);
    writeFileSync(join(dir, 'token'), 'token-one\n');
    server = createServer({ cert: ca.certPem, key: ca.keyPem }, (req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'NamespaceList', items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String((server.address() as AddressInfo).port) };
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists over TLS with the CA file and the bearer token, and picks up a rotated token after 60 s', async () => {
    let now = 1_000_000;
    const client = new KubeApiClient(new InClusterCredentials(env, dir, () => now));
    assert.equal(client.serverUrl, `https://127.0.0.1:${env['KUBERNETES_SERVICE_PORT']}`);
    const first = await client.list('/api/v1/namespaces');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { kind: 'NamespaceList', items: [] });
    writeFileSync(join(dir, 'token'), 'token-two');
    now += 30_000;
    await client.list('/api/v1/namespaces');
    now += 31_000;
    await client.list('/api/v1/namespaces');
    assert.deepEqual(seen.slice(-3), ['Bearer token-one', 'Bearer token-one', 'Bearer token-two']);
  });

  it('refuses an API server whose certificate the service-account CA did not sign', async () => {
    const wrong = mkdtempSync(join(tmpdir(), 'kube-in-cluster-wrong-'));
    try {
      writeFileSync(join(wrong, 'ca.crt'), other.rootPem);
      writeFileSync(join(wrong, 'token'), 'secret');
      const before = seen.length;
      await assert.rejects(new KubeApiClient(new InClusterCredentials(env, wrong)).list('/api/v1/namespaces'), /GET \/api\/v1\/namespaces/);
      assert.equal(seen.length, before, 'the token must not reach an untrusted server');
    } finally {
      rmSync(wrong, { recursive: true, force: true });
    }
  });

  it('rejects a missing or malformed service address', () => {
    assert.throws(() => new InClusterCredentials({}, dir), /KUBERNETES_SERVICE_HOST/);
    assert.throws(() => new InClusterCredentials({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '443x' }, dir), /KUBERNETES_SERVICE_PORT/);
    assert.equal(new InClusterCredentials({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir).getCurrentCluster().server, 'https://[fd00::1]:443');
  });

  it('applies only where client-node would use the service account (no KUBECONFIG, no ~/.kube/config)', () => {
    const home = mkdtempSync(join(tmpdir(), 'kube-in-cluster-home-'));
    const empty = mkdtempSync(join(tmpdir(), 'kube-in-cluster-empty-'));
    try {
      assert.equal(inClusterApplies({ HOME: home }, dir), true);
      assert.equal(inClusterApplies({ HOME: home, KUBECONFIG: '/some/file' }, dir), false);
      assert.equal(inClusterApplies({ HOME: home }, empty), false, 'no token file');
      mkdirSync(join(home, '.kube'));
      writeFileSync(join(home, '.kube', 'config'), 'apiVersion: v1\n');
      assert.equal(inClusterApplies({ HOME: home }, dir), false);
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
