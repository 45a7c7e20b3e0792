/**
 * RequestAuthentication with `jwksUri` through the in-process mesh: the waypoint fetches the key
 * set over HTTPS from a local server whose certificate comes from a test CA (trusted through the
 * waypoint's security options), and picks up a rotated key (new `kid`) without a config change.
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

const ISS = 'https://issuer.remote.test';

describe('waypoint JWT with a remote JWKS over HTTPS', () => {
  let mesh: LocalMesh;
  let server: https.Server;
  let served: JWK[] = [];
  let fetches = 0;
  let k1: Key;
  let k2: Key;

  const token = (k: Key): Promise<string> =>
    new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuer(ISS).setSubject('remote-user').setExpirationTime('10m').sign(k.privateKey);

  before(async () => {
    const ca = httpsTestCa();
    k1 = await makeKey('RS256', 'one');
    k2 = await makeKey('RS256', 'two');
    served = [k1.jwk];
    server = https.createServer({ cert: ca.certPem, key: ca.keyPem }, (_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = `https://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    mesh = await startLocalMesh({
      waypointSecurity: { jwks: { trustBundle: [ca.rootPem], unknownKidCooldownMs: 0 }, onShadow: () => undefined },
      extraFiles: {
        '90-remote-jwt.yaml': `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: remote, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  jwtRules: [{issuer: "${ISS}", jwksUri: "${uri}", timeout: 2s}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  rules: [{from: [{source: {requestPrincipals: ["${ISS}/remote-user"]}}]}]
`,
      },
    });
  });
  after(async () => {
    await mesh?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('verifies with fetched keys, caches them, and refetches for a rotated kid', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const first = await mesh.request(sleep, 'http://reviews:9080/a', { headers: { authorization: `Bearer ${await token(k1)}` } });
    assert.equal(first.status, 200);
    assert.equal(first.json<EchoReport>().headers['authorization'], undefined);
    assert.equal((await mesh.request(sleep, 'http://reviews:9080/b', { headers: { authorization: `Bearer ${await token(k1)}` } })).status, 200);
    assert.equal(fetches, 1, 'the key set is cached');

    served = [k1.jwk, k2.jwk];
    const rotated = await mesh.request(sleep, 'http://reviews:9080/c', { headers: { authorization: `Bearer ${await token(k2)}` } });
    assert.equal(rotated.status, 200);
    assert.equal(fetches, 2, 'one refetch for the new kid');

    const missing = await mesh.request(sleep, 'http://reviews:9080/d');
    assert.equal(missing.status, 403);
  });
});
