/**
 * Istio's "Authorization Policy Normalization" on the real data path (client pod → ztunnel →
 * waypoint → ztunnel → echo app), over HTTP/1.1 written byte by byte and over inner HTTP/2:
 * backslashes, `%00`, lower-case methods, repeated headers, space-delimited JWT claims, host
 * ports and trust domains. Each case is a bypass or a mismatch the waypoint had before.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { CryptoKey } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const ISS = 'https://issuer.norm.test';

function securityYaml(jwks: string): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules:
    - issuer: ${ISS}
      jwks: '${jwks}'
      spaceDelimitedClaims: [roles]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules:
    - to: [{operation: {paths: ["/admin", "/admin/*"]}}]
    - to: [{operation: {methods: [DELETE]}}]
    - when: [{key: "request.headers[x-tenant]", values: ["a,b"]}]
    - when: [{key: "request.headers[x-debug]", values: ["*"]}]
    - to: [{operation: {hosts: ["blocked.example"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: ALLOW
  rules:
    - to: [{operation: {notPaths: ["/scoped/*", "/roles/*", "/td/*"]}}]
    - to: [{operation: {paths: ["/scoped/*"]}}]
      when: [{key: "request.auth.claims[scope]", values: ["write"]}]
    - to: [{operation: {paths: ["/roles/*"]}}]
      when: [{key: "request.auth.claims[roles]", values: ["editor"]}]
    - from: [{source: {trustDomains: ["cluster.local"], namespaces: ["other"]}}]
      to: [{operation: {paths: ["/td/ok/*"]}}]
    - from: [{source: {trustDomains: ["elsewhere.td"], namespaces: ["other"]}}]
      to: [{operation: {paths: ["/td/no/*"]}}]
`;
}

interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/** Writes `head` exactly as given (no client-side URL cleanup) and reads until the server closes. */
function rawExchange(socket: net.Socket, head: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    const done = (): void => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    // 'end': the tunnel is half-closed by the server after `connection: close`.
    socket.on('end', done);
    socket.on('close', done);
    socket.write(head);
  });
}

function bodyOf(r: RawResponse): string {
  return r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
}

describe('authorization normalization through the waypoint', () => {
  let mesh: LocalMesh;
  let key: CryptoKey;
  let sleep: WorkloadIR;
  let notsleep: WorkloadIR;

  const token = (claims: Record<string, unknown>): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISS).setSubject('alice').setExpirationTime('10m').sign(key);

  const h1 = async (from: WorkloadIR, requestLine: string, headers: readonly string[] = []): Promise<RawResponse> => {
    const socket = await mesh.connectFrom(from, from === sleep ? 'reviews' : 'reviews.default', 9080);
    try {
      return await rawExchange(socket, `${requestLine} HTTP/1.1\r\nhost: reviews:9080\r\n${headers.map((h) => `${h}\r\n`).join('')}connection: close\r\n\r\n`);
    } finally {
      socket.destroy();
    }
  };

  const h2 = async (from: WorkloadIR, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> => {
    const socket = await mesh.connectFrom(from, 'reviews', 9080);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    try {
      return await new Promise((resolve, reject) => {
        const req = session.request(headers, { endStream: true });
        let status = 0;
        let body = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
      });
    } finally {
      session.destroy();
      socket.destroy();
    }
  };

  before(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] });
    mesh = await startLocalMesh({ extraFiles: { '90-security.yaml': securityYaml(jwks) } });
    sleep = mesh.pod('default', 'sleep');
    notsleep = mesh.pod('other', 'notsleep');
    assert.equal(mesh.store.current().snapshot.l7Policies?.length, 2);
  });
  after(async () => {
    await mesh?.close();
  });

  it('BASE turns backslashes into slashes before dot segments: /foo\\..\\admin is denied (HTTP/1.1)', async () => {
    for (const target of ['/foo\\..\\admin', '/foo\\..\\admin\\x', '/public\\.%2E\\admin']) {
      const r = await h1(sleep, `GET ${target}`);
      assert.equal(r.status, 403, `${target}: ${r.text}`);
      assert.equal(bodyOf(r), 'RBAC: access denied');
    }
    const fine = await h1(sleep, 'GET /some\\data');
    assert.equal(fine.status, 200);
    assert.equal((JSON.parse(bodyOf(fine)) as EchoReport).path, '/some/data', 'the app sees the normalized path');
  });

  it('the same over inner HTTP/2', async () => {
    const denied = await h2(sleep, { ':method': 'GET', ':path': '/foo\\..\\admin' });
    assert.equal(denied.status, 403);
    const fine = await h2(sleep, { ':method': 'GET', ':path': '/a\\b' });
    assert.equal(fine.status, 200);
    assert.equal((JSON.parse(fine.body) as EchoReport).path, '/a/b');
  });

  it('%00 in the path is refused with 400 (HTTP/1.1 and HTTP/2); in the query it is data', async () => {
    for (const target of ['/x%00', '/admin%00', '/a/%00/../b']) {
      assert.equal((await h1(sleep, `GET ${target}`)).status, 400, target);
      assert.equal((await h2(sleep, { ':method': 'GET', ':path': target })).status, 400, target);
    }
    assert.equal((await h1(sleep, 'GET /x?q=%00')).status, 200);
    const rec = await mesh.waypointRecordFor('/x%00');
    assert.equal(rec.responseCodeDetails, 'path_normalization_failed');
  });

  it('a lower-case method is refused with 400, so methods: [DELETE] cannot be sidestepped', async () => {
    const lower = await h2(sleep, { ':method': 'delete', ':path': '/items/lower' });
    assert.equal(lower.status, 400);
    const rec = await mesh.waypointRecordFor('/items/lower');
    assert.equal(rec.responseCodeDetails, 'invalid_method', 'refused by the waypoint, not by the app');
    assert.equal(rec.upstreamHost, undefined);
    assert.equal((await h2(sleep, { ':method': 'DELETE', ':path': '/items/1' })).status, 403);
    assert.equal((await h2(sleep, { ':method': 'GET', ':path': '/items/1' })).status, 200);
  });

  it('repeated request headers are matched joined with "," (no space)', async () => {
    const joined = await h1(sleep, 'GET /tenant', ['x-tenant: a', 'x-tenant: b']);
    assert.equal(joined.status, 403, joined.text);
    const h2joined = await h2(sleep, { ':method': 'GET', ':path': '/tenant', 'x-tenant': ['a', 'b'] });
    assert.equal(h2joined.status, 403);
    // One field whose value has a space is a different value: not matched.
    assert.equal((await h1(sleep, 'GET /tenant', ['x-tenant: a, b'])).status, 200);
    // Each value still reaches the app.
    const seen = JSON.parse(bodyOf(await h1(sleep, 'GET /tenant', ['x-other: 1', 'x-other: 2']))) as EchoReport;
    assert.equal(String(seen.headers['x-other']), '1, 2');
  });

  it('a header condition "*" matches a present header even when its value is empty', async () => {
    assert.equal((await h1(sleep, 'GET /dbg', ['x-debug:'])).status, 403);
    assert.equal((await h1(sleep, 'GET /dbg')).status, 200);
  });

  it('scope and permission (and spaceDelimitedClaims) are space-delimited lists', async () => {
    const get = async (p: string, claims: Record<string, unknown>): Promise<number> =>
      (await h1(notsleep, `GET ${p}`, [`authorization: Bearer ${await token(claims)}`])).status;
    assert.equal(await get('/scoped/x', { scope: 'read write' }), 200);
    assert.equal(await get('/scoped/x', { scope: 'read  write ' }), 200);
    assert.equal(await get('/scoped/x', { scope: 'read writer' }), 403);
    assert.equal(await get('/scoped/x', { scope: ['write'] }), 200);
    assert.equal(await get('/roles/x', { roles: 'viewer editor' }), 200, 'spaceDelimitedClaims: [roles]');
    assert.equal(await get('/roles/x', { roles: 'viewer' }), 403);
  });

  it('hosts match the whole :authority: a port is part of it, as in istiod', async () => {
    assert.equal((await h2(sleep, { ':method': 'GET', ':path': '/h', ':authority': 'BLOCKED.example' })).status, 403);
    assert.equal((await h2(sleep, { ':method': 'GET', ':path': '/h', ':authority': 'blocked.example:9080' })).status, 200);
  });

  it('trustDomains is enforced, not ignored', async () => {
    assert.equal((await h1(notsleep, 'GET /td/ok/x')).status, 200);
    assert.equal((await h1(notsleep, 'GET /td/no/x')).status, 403, 'the peer is in cluster.local, not elsewhere.td');
    assert.equal((await h1(sleep, 'GET /td/ok/x')).status, 403, 'namespace default is not in the rule');
  });

  it('NONE still refuses %00 and leaves backslashes alone', async () => {
    mesh.config.write(
      '95-mesh.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    pathNormalization: {normalization: NONE}
`,
    );
    await eventually(async () => {
      const r = await h1(sleep, 'GET /keep\\as\\is');
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(bodyOf(r)) as EchoReport).path, '/keep\\as\\is');
    }, 10_000, 100);
    assert.equal((await h1(sleep, 'GET /x%00')).status, 400);
  });
});
