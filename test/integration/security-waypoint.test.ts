/**
 * Waypoint security end to end on the in-process local mesh: RequestAuthentication and L7
 * AuthorizationPolicy attached by targetRefs, enforced on the real data path (client pod → its
 * ztunnel → waypoint → ztunnel → echo app), with the source identity taken from the mTLS peer.
 * The default mesh has an L4 policy on ratings only; `other/notsleep` reaches reviews through the
 * waypoint, so every decision here is the waypoint's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CryptoKey, JWK } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh, MeshResponse, RequestInit } from '../helpers/local-mesh.js';
import { sendHttp, startLocalMesh } from '../helpers/local-mesh.js';

const ISS = 'https://issuer.mesh.test';

function securityYaml(jwk: JWK): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules:
    - issuer: ${ISS}
      jwks: '${JSON.stringify({ keys: [jwk] })}'
      outputPayloadToHeader: x-jwt-payload
      outputClaimToHeaders: [{header: x-jwt-sub, claim: sub}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules:
    - to: [{operation: {paths: ["/admin/*", "/admin"]}}]
    - to: [{operation: {methods: [DELETE]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: ALLOW
  rules:
    - from: [{source: {principals: ["cluster.local/ns/default/sa/sleep"]}}]
      to: [{operation: {notPaths: ["/jwt/*", "/claims/*"]}}]
    - from: [{source: {requestPrincipals: ["${ISS}/*"]}}]
      to: [{operation: {paths: ["/jwt/*"]}}]
    - to: [{operation: {paths: ["/claims/*"]}}]
      when: [{key: "request.auth.claims[groups]", values: ["admin"]}]
`;
}

describe('waypoint security end to end', () => {
  let mesh: LocalMesh;
  let key: CryptoKey;
  let sleep: WorkloadIR;
  let notsleep: WorkloadIR;

  const token = (claims: Record<string, unknown> = {}, exp = Math.floor(Date.now() / 1000) + 600): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISS).setSubject('alice').setExpirationTime(exp).sign(key);

  /** A request with the path sent exactly as written (no URL normalization in the client). */
  const raw = async (from: WorkloadIR, path: string, init: RequestInit = {}): Promise<MeshResponse> => {
    const socket = await mesh.connectFrom(from, 'reviews', 9080);
    const url = { hostname: 'reviews', port: '9080', pathname: path, search: '' } as URL;
    return sendHttp(socket, url, init);
  };

  before(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
    mesh = await startLocalMesh({ extraFiles: { '90-security.yaml': securityYaml(jwk) } });
    sleep = mesh.pod('default', 'sleep');
    notsleep = mesh.pod('other', 'notsleep');
    const snap = mesh.store.current().snapshot;
    assert.equal(snap.l7Policies?.length, 2);
    assert.equal(snap.requestAuthns?.length, 1);
  });
  after(async () => {
    await mesh?.close();
  });

  it('ALLOW by principal: sleep reaches reviews, notsleep gets 403 RBAC', async () => {
    const ok = await mesh.request(sleep, 'http://reviews:9080/productpage');
    assert.equal(ok.status, 200);
    assert.equal(ok.json<EchoReport>().path, '/productpage');
    const denied = await mesh.request(notsleep, 'http://reviews.default:9080/productpage');
    assert.equal(denied.status, 403);
    assert.equal(denied.body.toString(), 'RBAC: access denied');
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.responseCode === 403 && x.sourcePrincipal?.endsWith('/ns/other/sa/default'));
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseCodeDetails, 'rbac_access_denied_matched_policy[none]');
    assert.equal(rec.upstreamHost, undefined, 'a denied request never goes upstream');
  });

  it('DENY by path and by method wins over ALLOW', async () => {
    const byPath = await mesh.request(sleep, 'http://reviews:9080/admin/users');
    assert.equal(byPath.status, 403);
    const byMethod = await mesh.request(sleep, 'http://reviews:9080/x', { method: 'DELETE' });
    assert.equal(byMethod.status, 403);
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.method === 'DELETE');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseCodeDetails, 'rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[1]]');
  });

  it('path tricks do not bypass the DENY: dot segments, encoded dots and letters, fragments', async () => {
    for (const p of ['/public/../admin/users', '/public/%2e%2e/admin/users', '/%61dmin/users', '/./admin', '/admin/users#frag', '/x/../../admin']) {
      const res = await raw(sleep, p);
      assert.equal(res.status, 403, `${p} must be denied`);
    }
    const fine = await raw(sleep, '/public/./a/../b?q=1');
    assert.equal(fine.status, 200);
    assert.equal(fine.json<EchoReport>().path, '/public/b?q=1', 'the app sees the normalized path');
    const bad = await raw(sleep, '/bad%zz');
    assert.equal(bad.status, 400);
  });

  it('JWT required by requestPrincipals: valid 200, invalid 401 with www-authenticate, missing 403', async () => {
    const goodToken = await token();
    const hitsBefore = mesh.waypoints[0]?.security?.jwtStats.cacheHits ?? 0;
    for (let i = 0; i < 2; i++) {
      // The second time the waypoint answers from its verified-token cache, with the same outputs.
      const good = await mesh.request(notsleep, 'http://reviews.default:9080/jwt/data', { headers: { authorization: `Bearer ${goodToken}` } });
      assert.equal(good.status, 200);
      const seen = good.json<EchoReport>();
      assert.equal(seen.headers['authorization'], undefined, 'the token is stripped (forwardOriginalToken: false)');
      assert.equal(seen.headers['x-jwt-sub'], 'alice');
      const payload = JSON.parse(Buffer.from(String(seen.headers['x-jwt-payload']), 'base64url').toString()) as { iss?: string };
      assert.equal(payload.iss, ISS);
    }
    assert.equal((mesh.waypoints[0]?.security?.jwtStats.cacheHits ?? 0) - hitsBefore, 1, 'the repeated token came from the cache');

    const expired = await mesh.request(notsleep, 'http://reviews.default:9080/jwt/data', { headers: { authorization: `Bearer ${await token({}, Math.floor(Date.now() / 1000) - 300)}` } });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.toString(), 'Jwt is expired');
    assert.equal(expired.headers['www-authenticate'], 'Bearer realm="http://reviews.default:9080/jwt/data", error="invalid_token"');

    const missing = await mesh.request(notsleep, 'http://reviews.default:9080/jwt/data');
    assert.equal(missing.status, 403);
  });

  it('claims in when; forged identity headers change nothing', async () => {
    assert.equal((await mesh.request(notsleep, 'http://reviews.default:9080/claims/x', { headers: { authorization: `Bearer ${await token({ groups: ['dev', 'admin'] })}` } })).status, 200);
    assert.equal((await mesh.request(notsleep, 'http://reviews.default:9080/claims/x', { headers: { authorization: `Bearer ${await token({ groups: ['dev'] })}` } })).status, 403);
    const forged = await mesh.request(notsleep, 'http://reviews.default:9080/jwt/data', {
      headers: { 'x-jwt-sub': 'alice', 'x-jwt-payload': 'e30', 'x-forwarded-for': '127.1.0.2', 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/default/sa/sleep' },
    });
    assert.equal(forged.status, 403);
    const fromSleep = await mesh.request(sleep, 'http://reviews:9080/productpage', { headers: { 'x-jwt-sub': 'mallory' } });
    assert.equal(fromSleep.status, 200);
    assert.equal(fromSleep.json<EchoReport>().headers['x-jwt-sub'], undefined, 'a forged output header never reaches the app');
  });

  it('applies a policy change on reload without restarting the waypoint', async () => {
    mesh.config.write(
      '91-open.yaml',
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-other, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules: [{from: [{source: {namespaces: [other]}}], to: [{operation: {paths: ["/productpage"]}}]}]
`,
    );
    await eventually(async () => {
      const res = await mesh.request(notsleep, 'http://reviews.default:9080/productpage');
      assert.equal(res.status, 200);
    }, 10_000, 100);
  });
});
