/**
 * AuthorizationPolicy action CUSTOM end to end: a real HTTP and a real gRPC ext_authz server on
 * loopback, named by MeshConfig extension providers, asked by the waypoint on the real data path
 * (sleep → ztunnel → waypoint → ztunnel → reviews echo). Which provider reviews uses is switched by
 * rewriting the policy file (one provider per workload, as in Istio).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { waypointAdminTarget } from '../../src/admin/waypoint-admin.js';
import { Logger } from '../../src/telemetry/logger.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { registerSecurityStats } from '../../src/telemetry/security-stats.js';
import { eventually } from '../helpers/eventually.js';
import type { GrpcAuthzServer, HttpAuthzServer } from '../helpers/ext-authz-servers.js';
import { startGrpcAuthzServer, startHttpAuthzServer } from '../helpers/ext-authz-servers.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

function meshConfig(httpPort: number, grpcPort: number): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
      - name: http-authz
        envoyExtAuthzHttp:
          service: 127.0.0.1
          port: ${httpPort}
          timeout: 400ms
          pathPrefix: /check
          includeRequestHeadersInCheck: [x-user*]
          includeAdditionalHeadersInCheck: {x-added: from-waypoint}
          headersToUpstreamOnAllow: [x-ext-authz-*]
          headersToDownstreamOnDeny: [www-authenticate, x-deny-reason, content-type]
          includeRequestBodyInCheck: {maxRequestBytes: 32}
      - name: http-authz-open
        envoyExtAuthzHttp: {service: 127.0.0.1, port: ${httpPort}, timeout: 300ms, failOpen: true}
      - name: grpc-authz
        envoyExtAuthzGrpc:
          service: 127.0.0.1
          port: ${grpcPort}
          timeout: 400ms
          statusOnError: "503"
          includeRequestBodyInCheck: {maxRequestBytes: 16, allowPartialMessage: true}
`;
}

function policies(provider: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: CUSTOM
  provider: {name: ${provider}}
  rules: [{to: [{operation: {paths: ["/ext/*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: local-deny, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules: [{to: [{operation: {paths: ["/ext/allow-but-denied"]}}]}]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules: [{issuer: "https://issuer.mesh.test", jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}'}]
`;
}

/** GET on the admin API; the body as text. */
async function adminGet(host: string, port: number, path: string): Promise<string> {
  const res = await fetch(`http://${host}:${port}${path}`);
  assert.equal(res.status, 200);
  return res.text();
}

describe('AuthorizationPolicy CUSTOM (ext_authz) through the waypoint', () => {
  let mesh: LocalMesh;
  let httpAuthz: HttpAuthzServer;
  let grpcAuthz: GrpcAuthzServer;
  let sleep: WorkloadIR;

  const get = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    mesh.request(sleep, `http://reviews:9080${path}`, init);

  const recordFor = (path: string) => mesh.waypointRecordFor(path);

  async function useProvider(name: string): Promise<void> {
    mesh.config.write('90-custom.yaml', policies(name));
    await eventually(() => assert.equal(mesh.store.current().snapshot.l7Policies?.find((p) => p.name === 'ext')?.provider, name));
  }

  before(async () => {
    httpAuthz = await startHttpAuthzServer();
    grpcAuthz = await startGrpcAuthzServer();
    mesh = await startLocalMesh({
      extraFiles: { '05-mesh-config.yaml': meshConfig(httpAuthz.port, grpcAuthz.port), '90-custom.yaml': policies('http-authz') },
    });
    sleep = mesh.pod('default', 'sleep');
    assert.equal(Object.keys(mesh.store.current().snapshot.mesh.extAuthzProviders ?? {}).length, 3);
  });
  after(async () => {
    await mesh?.close();
    await httpAuthz?.close();
    await grpcAuthz?.close();
  });

  describe('HTTP provider', () => {
    it('allows: the check carries prefix + path, host, listed headers and added headers; allowed headers go upstream', async () => {
      const res = await get('/ext/allow?q=1', { headers: { 'x-user-id': 'u1', 'x-other': 'no' } });
      assert.equal(res.status, 200);
      const echo = res.json<EchoReport>();
      assert.equal(echo.headers['x-ext-authz-user'], 'alice');
      assert.equal(echo.headers['x-not-forwarded'], undefined, 'only headersToUpstreamOnAllow go upstream');
      const seen = httpAuthz.seen.at(-1);
      assert.ok(seen);
      assert.equal(seen.method, 'GET');
      assert.equal(seen.url, '/check/ext/allow?q=1');
      assert.equal(seen.headers.host, 'reviews:9080');
      assert.equal(seen.headers['x-user-id'], 'u1');
      assert.equal(seen.headers['x-added'], 'from-waypoint');
      assert.equal(seen.headers['x-other'], undefined, 'headers not listed stay out of the check');
      assert.ok(['0', undefined].includes(seen.headers['content-length']), 'no body in the check');
    });

    it('does not ask for requests no CUSTOM rule matches', async () => {
      const before = httpAuthz.seen.length;
      const res = await get('/public');
      assert.equal(res.status, 200);
      assert.equal(httpAuthz.seen.length, before);
    });

    it("denies with the check server's status, listed headers and body; UAEX, never upstream", async () => {
      const res = await get('/ext/deny');
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Custom realm="mesh"');
      assert.equal(res.headers['x-deny-reason'], 'nope');
      assert.equal(res.headers['x-internal'], undefined, 'only headersToDownstreamOnDeny go downstream');
      assert.equal(res.body.toString(), 'custom denial');
      const rec = await recordFor('/ext/deny');
      assert.equal(rec.responseFlags, 'UAEX');
      assert.equal(rec.responseCodeDetails, 'ext_authz_denied');
      assert.equal(rec.upstreamHost, undefined);
    });

    it('a request allowed by CUSTOM must still pass DENY policies', async () => {
      const res = await get('/ext/allow-but-denied');
      assert.equal(res.status, 403);
      assert.equal(res.body.toString(), 'RBAC: access denied');
    });

    it('sends the request body in the check and still forwards it; too large a body gets 413', async () => {
      const body = 'let-me-in: 16B.';
      const ok = await get('/ext/body', { method: 'POST', body });
      assert.equal(ok.status, 200);
      assert.equal(ok.json<EchoReport>().body.bytes, body.length, 'the upstream received the whole body');
      assert.equal(httpAuthz.seen.at(-1)?.body, body);
      assert.equal(httpAuthz.seen.at(-1)?.headers['content-length'], String(body.length));
      const refused = await get('/ext/body', { method: 'POST', body: 'no password here' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.toString(), 'body refused');
      const before = httpAuthz.seen.length;
      const big = await get('/ext/body', { method: 'POST', body: 'let-me-in'.padEnd(100, '.') });
      assert.equal(big.status, 413);
      assert.equal(httpAuthz.seen.length, before, 'no check for a body over maxRequestBytes');
    });

    it('timeout and 5xx from the authorizer: statusOnError (403 by default), UAEX', async () => {
      const t0 = Date.now();
      const slow = await get('/ext/slow');
      assert.equal(slow.status, 403);
      assert.ok(Date.now() - t0 < 5000, 'bounded by the provider timeout');
      const rec = await recordFor('/ext/slow');
      assert.equal(rec.responseFlags, 'UAEX');
      assert.equal(rec.responseCodeDetails, 'ext_authz_error');
      const boom = await get('/ext/boom');
      assert.equal(boom.status, 403);
    });

    it('counts ok / denied / error', () => {
      const stats = mesh.waypoints[0]?.security?.extAuthz.stats;
      assert.ok(stats);
      assert.ok(stats.ok >= 2 && stats.denied >= 2 && stats.error >= 2, JSON.stringify(stats));
    });

    it('failOpen lets the request through when the authorizer times out', async () => {
      await useProvider('http-authz-open');
      const res = await get('/ext/slow');
      assert.equal(res.status, 200);
      assert.equal(res.json<EchoReport>().path, '/ext/slow');
      assert.ok((mesh.waypoints[0]?.security?.extAuthz.stats.failureModeAllowed ?? 0) >= 1);
    });
  });

  describe('gRPC provider (envoy.service.auth.v3.Authorization/Check)', () => {
    before(async () => useProvider('grpc-authz'));

    it('allows: ok_response headers are set, appended and removed; the CheckRequest has the mTLS peer and request', async () => {
      const res = await get('/ext/allow', { headers: { 'x-user-id': 'u1', 'x-remove-me': 'gone' } });
      assert.equal(res.status, 200);
      const echo = res.json<EchoReport>();
      assert.equal(echo.headers['x-grpc-authz'], 'granted');
      assert.equal(echo.headers['x-remove-me'], undefined);
      assert.equal(String(echo.headers['x-user-id']), 'u1, added');
      const seen = grpcAuthz.seen.at(-1);
      assert.ok(seen);
      const a = seen.attributes;
      assert.equal(a.source.principal, 'spiffe://cluster.local/ns/default/sa/sleep');
      assert.equal(a.source.address.socket_address.address, sleep.ip);
      assert.equal(a.request.http.method, 'GET');
      assert.equal(a.request.http.path, '/ext/allow');
      assert.equal(a.request.http.host, 'reviews:9080');
      assert.equal(a.request.http.headers['x-user-id'], 'u1');
      assert.equal(a.request.http.headers[':method'], 'GET');
    });

    it('OK response: append_action, set-then-remove order, query parameters to set/remove, response headers to the client', async () => {
      const res = await get('/ext/mutate?keep=1&secret=s&token=old&token=dup&z=%2F', {
        headers: { 'x-if-absent': 'client', 'x-if-present': 'client', 'x-overwrite': 'client' },
      });
      assert.equal(res.status, 200);
      const echo = res.json<EchoReport>();
      assert.equal(echo.path, '/ext/mutate?keep=1&token=replaced%20value&z=%2F&added=1', 'secret removed, token replaced once, added appended');
      assert.equal(echo.headers['x-set-then-removed'], undefined, 'removal comes after the set');
      assert.equal(echo.headers['x-if-absent'], 'client', 'ADD_IF_ABSENT keeps the client value');
      assert.equal(echo.headers['x-if-absent-new'], 'authz');
      assert.equal(echo.headers['x-if-present'], 'authz', 'OVERWRITE_IF_EXISTS replaces');
      assert.equal(echo.headers['x-if-present-missing'], undefined, 'OVERWRITE_IF_EXISTS does not add');
      assert.equal(echo.headers['x-overwrite'], 'authz');
      assert.equal(res.headers['x-authz-decision'], 'allowed', 'response_headers_to_add reach the client');
      assert.equal(res.headers['x-authz-trace'], 'a');
      assert.equal(grpcAuthz.seen.at(-1)?.attributes.request.http.path, '/ext/mutate?keep=1&secret=s&token=old&token=dup&z=%2F', 'the check saw the original');
    });

    it('denies with DeniedHttpResponse status, headers and body; default 403 without one', async () => {
      const res = await get('/ext/deny');
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '7');
      assert.equal(res.body.toString(), 'slow down');
      const rec = await recordFor('/ext/deny');
      assert.equal(rec.responseFlags, 'UAEX');
      const plain = await get('/ext/default-deny');
      assert.equal(plain.status, 403);
    });

    it('a partial body (allowPartialMessage) is sent, marked x-envoy-auth-partial-body', async () => {
      const body = 'let-me-in and a long tail past sixteen bytes';
      const res = await get('/ext/body', { method: 'POST', body });
      assert.equal(res.status, 200);
      assert.equal(res.json<EchoReport>().body.bytes, body.length);
      const http = grpcAuthz.seen.at(-1)?.attributes.request.http;
      assert.equal(http?.body, body.slice(0, 16));
      assert.equal(http?.headers['x-envoy-auth-partial-body'], 'true');
    });

    it('deadline and INTERNAL: statusOnError 503 with UAEX', async () => {
      const slow = await get('/ext/slow');
      assert.equal(slow.status, 503);
      const boom = await get('/ext/boom');
      assert.equal(boom.status, 503);
      const rec = await recordFor('/ext/boom');
      assert.equal(rec.responseFlags, 'UAEX');
      assert.equal(rec.responseCodeDetails, 'ext_authz_error');
    });
  });

  describe('decision counters on the admin API', () => {
    let admin: AdminServer;
    const readiness = new ReadinessServer();
    let host = '';
    let port = 0;

    before(async () => {
      const waypoint = mesh.waypoints[0];
      assert.ok(waypoint?.security);
      const metrics = new ProxyMetrics();
      registerSecurityStats(metrics.registry, waypoint.security);
      const logger = new Logger({ write: () => undefined });
      admin = new AdminServer(
        waypointAdminTarget({ ref: { namespace: 'default', name: 'waypoint' }, waypoint, store: mesh.store, certs: mesh.certs, metrics, readiness, logger, quit: () => undefined }),
      );
      host = mesh.block.waypoint(1);
      port = (await admin.listen(host, 0)).port;
    });
    after(async () => {
      await admin?.close(200);
    });

    it('rbac, jwt_authn and ext_authz counters appear under Envoy names on /stats and /stats/prometheus', async () => {
      const bad = await get('/public', { headers: { authorization: 'Bearer not.a.jwt' } });
      assert.equal(bad.status, 401);
      const waypoint = mesh.waypoints[0];
      const sec = waypoint?.security;
      assert.ok(sec);
      const text = await adminGet(host, port, '/stats');
      const prefix = '{envoy_http_conn_manager_prefix="waypoint"}';
      const value = (name: string): number => {
        const m = new RegExp(`^${name}\\{[^}]*\\}: (\\d+)$`, 'm').exec(text);
        assert.ok(m, `${name} in /stats`);
        return Number(m[1]);
      };
      assert.equal(value('envoy_http_rbac_allowed'), sec.authzStats.allowed);
      assert.equal(value('envoy_http_rbac_denied'), sec.authzStats.denied);
      assert.ok(value('envoy_http_rbac_denied') >= 1, 'the local DENY was counted');
      assert.ok(value('envoy_http_jwt_authn_denied') >= 1, 'the bad token was counted');
      assert.ok(value('envoy_http_jwt_authn_allowed') >= 1, 'requests without a token pass authentication');
      assert.equal(value('envoy_http_ext_authz_ok'), sec.extAuthz.stats.ok);
      assert.ok(value('envoy_http_ext_authz_denied') >= 3);
      assert.ok(value('envoy_http_ext_authz_error') >= 4);
      assert.ok(value('envoy_http_ext_authz_failure_mode_allowed') >= 1);
      const prom = await adminGet(host, port, '/stats/prometheus');
      assert.match(prom, /# TYPE envoy_http_ext_authz_denied counter/);
      assert.ok(prom.includes(`envoy_http_rbac_denied${prefix} ${sec.authzStats.denied}`), prom);
    });

    it('POST /reset_counters zeroes the rbac, jwt_authn and ext_authz counters; they count on from zero', async () => {
      const reset = await fetch(`http://${host}:${port}/reset_counters`, { method: 'POST' });
      assert.equal(reset.status, 200);
      const read = async (name: string): Promise<number> => {
        const text = await adminGet(host, port, '/stats');
        const m = new RegExp(`^${name}\\{[^}]*\\}: (\\d+)$`, 'm').exec(text);
        assert.ok(m, `${name} in /stats`);
        return Number(m[1]);
      };
      for (const name of ['envoy_http_rbac_allowed', 'envoy_http_rbac_denied', 'envoy_http_jwt_authn_denied', 'envoy_http_ext_authz_ok', 'envoy_http_ext_authz_denied', 'envoy_http_ext_authz_error']) {
        assert.equal(await read(name), 0, name);
      }
      assert.equal((await get('/ext/deny')).status, 429);
      assert.equal(await read('envoy_http_ext_authz_denied'), 1);
      assert.equal(await read('envoy_http_ext_authz_ok'), 0);
    });
  });
});
