/**
 * HTTPRoute through the real in-process mesh (client pod → ztunnel → waypoint → ztunnel → echo):
 * which backend answered (the echo reports its pod), what it saw (path, host, headers), and what
 * the client got (status, Location, response headers) for matches, precedence, weights,
 * redirects, rewrites, header modifiers and mirrors.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { REVIEWS_VERSION_SERVICES_YAML } from '../helpers/mesh-fixtures.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { seededRandom } from '../helpers/seeded-random.js';

/** reviews-v1 / reviews-v2 Services (canary targets) and a mirror pod whose app the test runs. */
export const VERSION_SERVICES = `
${REVIEWS_VERSION_SERVICES_YAML}---
apiVersion: v1
kind: Service
metadata: {name: mirror, namespace: default}
spec:
  clusterIP: 127.100.0.40
  selector: {app: mirror}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: mirror, namespace: default, labels: {app: mirror}}
spec:
  nodeName: node-a
  containers: [{name: mirror, image: recorder, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 127.1.0.40}
`;

const ROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /canary}}]
      backendRefs: [{name: reviews-v1, port: 9080, weight: 90}, {name: reviews-v2, port: 9080, weight: 10}]
    - matches: [{path: {type: PathPrefix, value: /sticky}}]
      backendRefs: [{name: reviews, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /zero}}]
      backendRefs: [{name: reviews-v1, port: 9080, weight: 0}]
    - matches: [{path: {type: PathPrefix, value: /split-zero}}]
      backendRefs: [{name: reviews-v1, port: 9080, weight: 0}, {name: reviews-v2, port: 9080, weight: 5}]
    - matches: [{path: {type: PathPrefix, value: /none}}]
    - matches: [{path: {type: PathPrefix, value: /missing}}]
      backendRefs: [{name: no-such-service, port: 9080}]
    - matches: [{path: {type: Exact, value: /exact}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /seg}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /tie}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
      filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: x-route, value: newer}]}}]
    - matches: [{path: {type: RegularExpression, value: "/re/[0-9]+"}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{headers: [{name: X-Version, value: v2}]}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{queryParams: [{name: version, value: v1}]}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /method}, method: POST}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /method}}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}
    - matches: [{path: {type: PathPrefix, value: /secure}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, hostname: example.com}
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters:
        - type: URLRewrite
          urlRewrite: {hostname: rewritten.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2/api}}
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /full}}]
      filters:
        - type: URLRewrite
          urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /replaced}}
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: set-value}]
            add: [{name: X-Add, value: added}]
            remove: [x-remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: X-Resp, value: from-route}], remove: [x-echo-pod]}
      backendRefs:
        - name: reviews-v2
          port: 9080
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: {set: [{name: X-Backend, value: v2}]}
    - matches: [{path: {type: PathPrefix, value: /mirror}}]
      filters:
        - type: RequestMirror
          requestMirror: {backendRef: {name: mirror, port: 8080}}
      backendRefs: [{name: reviews-v1, port: 9080}]
`;

/** Consistent hashing on the reviews Service (both pods) by a header. */
const STICKY = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-sticky, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
`;

/** A second route for the same Service: merged, and older, so it wins an exact tie. */
const OLDER_ROUTE = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: zz-older, namespace: default, creationTimestamp: "2023-01-01T00:00:00Z"}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /seg/deeper}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /tie}}]
      backendRefs: [{name: reviews-v2, port: 9080}]
      filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: x-route, value: older}]}}]
`;

describe('HTTPRoute through the waypoint', () => {
  let mesh: LocalMesh;
  let recorder: http.Server;
  const mirrored: { path: string; host: string | undefined; body: Buffer }[] = [];

  before(async () => {
    mesh = await startLocalMesh({
      extraFiles: { '90-versions.yaml': VERSION_SERVICES, '91-route.yaml': ROUTE, '92-older.yaml': OLDER_ROUTE, '93-sticky.yaml': STICKY },
      random: seededRandom(42),
    });
    const pod = mesh.pod('default', 'mirror');
    recorder = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        mirrored.push({ path: req.url ?? '', host: req.headers.host, body: Buffer.concat(chunks) });
        res.end('mirror');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(8080, pod.ip, resolve));
  });
  after(async () => {
    recorder?.closeAllConnections();
    await new Promise((r) => recorder?.close(r));
    await mesh?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, { headers, method });
  const podOf = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<string> => {
    const res = await get(path, headers, method);
    assert.equal(res.status, 200, `${method} ${path}: ${res.body.toString()}`);
    return res.json<EchoReport>().pod;
  };

  it('splits 90/10 by weight across two Services', async () => {
    const counts = new Map<string, number>();
    const n = 600;
    for (let i = 0; i < n; i++) {
      const pod = await podOf('/canary/x');
      counts.set(pod, (counts.get(pod) ?? 0) + 1);
    }
    const v2 = (counts.get('default/reviews-v2') ?? 0) / n;
    assert.ok(Math.abs(v2 - 0.1) < 0.04, `v2 share ${v2}`);
    assert.equal((counts.get('default/reviews-v1') ?? 0) + (counts.get('default/reviews-v2') ?? 0), n);
    const rec = mesh.waypointRecords.find((r) => r.path === '/canary/x' && r.upstreamCluster?.includes('reviews-v2'));
    assert.ok(rec, 'the access record names the chosen backend cluster');
    assert.equal(rec.routeName, 'default.reviews.0.0');
  });

  it('keeps a client on one pod with a consistent hash on a header, and spreads clients', async () => {
    const seen = new Set<string>();
    // 24 users: all on one of two pods by chance is 2^-23 (the addresses, so the ring, vary per run).
    for (let u = 0; u < 24; u++) {
      const first = await podOf('/sticky', { 'x-user': `user-${u}` });
      for (let i = 0; i < 2; i++) assert.equal(await podOf('/sticky', { 'x-user': `user-${u}` }), first, `user-${u}`);
      seen.add(first);
    }
    assert.deepEqual([...seen].sort(), ['default/reviews-v1', 'default/reviews-v2'], 'different users reach both pods');
  });

  it('answers 500 for a weight of 0, no backends, or a missing backend; never sends to a 0-weight backend', async () => {
    assert.equal((await get('/zero')).status, 500);
    assert.equal((await get('/none')).status, 500);
    assert.equal((await get('/missing')).status, 500);
    for (let i = 0; i < 20; i++) assert.equal(await podOf('/split-zero'), 'default/reviews-v2');
  });

  it('answers 404 NR when no rule matches', async () => {
    const res = await get('/nothing-here');
    assert.equal(res.status, 404);
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.path === '/nothing-here');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseFlags, 'NR');
  });

  it('answers a gRPC request with no route as Envoy does: 200, grpc-status 12 (UNIMPLEMENTED)', async () => {
    const res = await get('/pkg.Missing/Call', { 'content-type': 'application/grpc' }, 'POST');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/grpc');
    assert.equal(res.headers['grpc-status'], '12');
    const zero = await get('/zero', { 'content-type': 'application/grpc+proto' }, 'POST');
    assert.equal(zero.headers['grpc-status'], '2', 'the spec 500 maps to UNKNOWN');
  });

  it('matches paths: exact, segment prefix, regex', async () => {
    assert.equal(await podOf('/exact'), 'default/reviews-v2');
    assert.equal((await get('/exact/more')).status, 404);
    assert.equal(await podOf('/seg'), 'default/reviews-v1');
    assert.equal(await podOf('/seg/'), 'default/reviews-v1');
    assert.equal(await podOf('/seg/a?q=1'), 'default/reviews-v1');
    assert.equal((await get('/segment')).status, 404, 'prefix /seg does not match /segment');
    assert.equal(await podOf('/re/123'), 'default/reviews-v2');
    assert.equal((await get('/re/12a')).status, 404, 'regex is a full match');
  });

  it('merges routes and applies precedence: longest prefix, then the older route', async () => {
    assert.equal(await podOf('/seg/deeper/x'), 'default/reviews-v2', 'longer prefix from the other route wins');
    // Same prefix /tie in both routes: the older route (zz-older) wins despite its name.
    const res = await get('/tie');
    assert.equal(res.headers['x-route'], 'older');
    assert.equal(res.json<EchoReport>().pod, 'default/reviews-v2');
  });

  it('matches headers (name case-insensitive), query params and methods', async () => {
    assert.equal(await podOf('/anything', { 'x-version': 'v2' }), 'default/reviews-v2');
    assert.equal((await get('/anything', { 'x-version': 'V2' })).status, 404, 'header values are case-sensitive');
    assert.equal(await podOf('/anything?version=v1'), 'default/reviews-v1');
    assert.equal(await podOf('/anything?version=v1&version=v2'), 'default/reviews-v1', 'the first of repeated keys');
    assert.equal((await get('/anything?version=v2&version=v1')).status, 404);
    assert.equal(await podOf('/method', {}, 'POST'), 'default/reviews-v2');
    assert.equal(await podOf('/method'), 'default/reviews-v1');
  });

  it('redirects with ReplacePrefixMatch and with scheme/host changes', async () => {
    const res = await get('/old/page?x=1');
    assert.equal(res.status, 301);
    assert.equal(res.headers['location'], 'http://reviews:9080/new/page?x=1');
    const secure = await get('/secure/a');
    assert.equal(secure.status, 302);
    assert.equal(secure.headers['location'], 'https://example.com/secure/a');
  });

  it('rewrites host and path; the backend sees x-envoy-original-path', async () => {
    const res = await get('/api/items?id=7');
    assert.equal(res.status, 200);
    const report = res.json<EchoReport>();
    assert.equal(report.pod, 'default/reviews-v1');
    assert.equal(report.path, '/v2/api/items?id=7');
    assert.equal(report.authority, 'rewritten.example');
    assert.equal(report.headers['x-envoy-original-path'], '/api/items?id=7');
    const full = (await get('/full/whatever?q=2')).json<EchoReport>();
    assert.equal(full.path, '/replaced?q=2');
  });

  it('modifies request and response headers, per route and per backend', async () => {
    const res = await get('/headers', { 'x-set': 'client', 'x-add': 'client', 'x-remove': 'gone' });
    assert.equal(res.status, 200);
    const h = res.json<EchoReport>().headers;
    assert.equal(h['x-set'], 'set-value');
    assert.deepEqual(h['x-add'], 'client, added');
    assert.equal(h['x-remove'], undefined);
    assert.equal(h['x-backend'], 'v2');
    assert.equal(res.headers['x-resp'], 'from-route');
    assert.equal(res.headers['x-echo-pod'], undefined);
  });

  it('mirrors a copy to the mirror backend, with -shadow host', async () => {
    const res = await get('/mirror/one');
    assert.equal(res.json<EchoReport>().pod, 'default/reviews-v1');
    const seen = await eventually(() => {
      const m = mirrored.find((x) => x.path === '/mirror/one');
      assert.ok(m);
      return m;
    });
    assert.equal(seen.host, 'reviews-shadow:9080');
  });

  it('mirrors a request body byte for byte while the real request gets it too', async () => {
    const body = randomBytes(300 * 1024);
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/mirror/post', { method: 'POST', body });
    const report = res.json<EchoReport>();
    assert.equal(report.pod, 'default/reviews-v1');
    assert.equal(report.body.bytes, body.length);
    assert.equal(report.body.sha256, createHash('sha256').update(body).digest('hex'));
    const seen = await eventually(() => {
      const m = mirrored.find((x) => x.path === '/mirror/post');
      assert.ok(m);
      return m;
    });
    assert.ok(seen.body.equals(body), `the shadow got ${seen.body.length} bytes`);
  });
});
