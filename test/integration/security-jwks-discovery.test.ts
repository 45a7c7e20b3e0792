/**
 * RequestAuthentication without `jwks` or `jwksUri`: the waypoint finds the key set by OpenID
 * discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`) over HTTPS from a local
 * issuer whose certificate comes from a test CA, caches it like any remote set, and after a key
 * rotation refetches the keys without asking for the configuration again.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { SignJWT } from 'jose';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { httpsTestCa } from '../helpers/https-test-ca.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { makeKey, type Key } from '../helpers/jwt-fixtures.js';

describe('waypoint JWT with OpenID discovery of the JWKS', () => {
  let mesh: LocalMesh;
  let server: https.Server;
  let issuer = '';
  let served: JWK[] = [];
  const hits: string[] = [];
  let k1: Key;
  let k2: Key;

  const token = (k: Key): Promise<string> =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: k.kid }).setIssuer(issuer).setSubject('oidc-user').setExpirationTime('10m').sign(k.privateKey);

  before(async () => {
    const ca = httpsTestCa();
    k1 = await makeKey('ES256', 'one');
    k2 = await makeKey('ES256', 'two');
    served = [k1.jwk];
    server = https.createServer({ cert: ca.certPem, key: ca.keyPem }, (req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/realms/mesh/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/certs` }));
      } else if (req.url === '/realms/mesh/protocol/certs') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}/realms/mesh`;
    mesh = await startLocalMesh({
      waypointSecurity: { jwks: { trustBundle: [ca.rootPem], unknownKidCooldownMs: 0 }, onShadow: () => undefined },
      extraFiles: {
        '90-oidc-jwt.yaml': `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: oidc, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  jwtRules: [{issuer: "${issuer}", timeout: 2s}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{from: [{source: {requestPrincipals: ["${issuer}/oidc-user"]}}]}]
`,
      },
    });
    assert.deepEqual(mesh.store.diagnostics().filter((d) => d.severity === 'error'), []);
  });
  after(async () => {
    await mesh?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('discovers jwks_uri, verifies, caches, and refetches only the keys for a rotated kid', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const call = async (k: Key): Promise<number> =>
      (await mesh.request(sleep, 'http://reviews:9080/oidc', { headers: { authorization: `Bearer ${await token(k)}` } })).status;
    const first = await mesh.request(sleep, 'http://reviews:9080/oidc', { headers: { authorization: `Bearer ${await token(k1)}` } });
    assert.equal(first.status, 200);
    assert.equal(first.json<EchoReport>().path, '/oidc');
    assert.deepEqual(hits, ['/realms/mesh/.well-known/openid-configuration', '/realms/mesh/protocol/certs']);
    assert.equal(await call(k1), 200);
    assert.equal(hits.length, 2, 'the key set is cached');
    served = [k1.jwk, k2.jwk];
    assert.equal(await call(k2), 200);
    assert.deepEqual(hits.slice(2), ['/realms/mesh/protocol/certs'], 'a rotated kid refetches the keys, not the configuration');
    const missing = await mesh.request(sleep, 'http://reviews:9080/oidc');
    assert.equal(missing.status, 403, 'no token: the policy requires a request principal');
  });
});
