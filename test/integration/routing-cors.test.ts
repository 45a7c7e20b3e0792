/**
 * VirtualService `corsPolicy` through the real in-process mesh: the CORS filter answers preflights
 * from allowed origins (exact, prefix, regex) itself, decorates actual responses, and leaves other
 * origins, requests without `Origin` and routes without a policy alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

const FILES = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
    - name: plain
      match: [{uri: {prefix: /plain}}]
      route: [{destination: {host: reviews}}]
    - name: cors
      corsPolicy:
        allowOrigins: [{exact: "https://app.example.com"}, {prefix: "https://dev."}, {regex: "https://[a-z]+\\\\.corp\\\\.example"}]
        allowMethods: [GET, POST]
        allowHeaders: [x-custom, authorization]
        exposeHeaders: [x-echo-pod]
        maxAge: 24h
        allowCredentials: true
      route: [{destination: {host: reviews}}]
`;

describe('VirtualService corsPolicy through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-cors.yaml': FILES } });
  });
  after(async () => {
    await mesh?.close();
  });

  const send = (path: string, method: string, headers: Record<string, string>) =>
    mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, { method, headers });

  const preflight = (origin: string, path = '/api') =>
    send(path, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom' });

  it('answers a preflight from each kind of allowed origin without reaching the app', async () => {
    for (const origin of ['https://app.example.com', 'https://dev.example.org', 'https://team.corp.example']) {
      const res = await preflight(origin);
      assert.equal(res.status, 200, origin);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
      assert.equal(res.headers['access-control-allow-headers'], 'x-custom,authorization');
      assert.equal(res.headers['access-control-max-age'], '86400');
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      assert.equal(res.headers['x-echo-pod'], undefined, 'answered by the waypoint');
      assert.equal(res.body.length, 0);
    }
    const rec = await eventually(() => {
      const r = mesh.waypointRecords.find((x) => x.method === 'OPTIONS' && x.path === '/api');
      assert.ok(r);
      return r;
    });
    assert.equal(rec.responseCodeDetails, 'cors_preflight');
  });

  it('forwards a preflight from another origin, without CORS headers', async () => {
    const res = await preflight('https://evil.example');
    assert.ok(res.headers['x-echo-pod'], 'reached the app');
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const full = await preflight('https://team.corp.example.evil');
    assert.equal(full.headers['access-control-allow-origin'], undefined, 'regex is a full match');
  });

  it('decorates the actual response of an allowed origin', async () => {
    const res = await send('/api', 'GET', { origin: 'https://app.example.com' });
    assert.equal(res.status, 200);
    assert.ok(res.json<EchoReport>().pod.startsWith('default/reviews'));
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'x-echo-pod');
    assert.equal(res.headers['access-control-allow-methods'], undefined, 'preflight-only header');
  });

  it('leaves requests without Origin and routes without a policy alone', async () => {
    const none = await send('/api', 'GET', {});
    assert.equal(none.headers['access-control-allow-origin'], undefined);
    const plain = await send('/plain', 'OPTIONS', { origin: 'https://app.example.com', 'access-control-request-method': 'GET' });
    assert.ok(plain.headers['x-echo-pod'], 'a route without corsPolicy forwards the preflight');
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
  });
});

const HTTPROUTE_CORS = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://app.example.com", "https://*.corp.example"]
            allowMethods: [GET, PUT]
            allowHeaders: [x-custom]
            allowCredentials: true
      backendRefs: [{name: reviews, port: 9080}]
    - backendRefs: [{name: reviews, port: 9080}]
`;

describe('HTTPRoute CORS filter through the waypoint', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '90-cors.yaml': HTTPROUTE_CORS } });
  });
  after(async () => {
    await mesh?.close();
  });

  const preflight = (origin: string, path = '/api') =>
    mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PUT' },
    });

  it('answers preflights for exact and wildcard-subdomain origins with the GEP default max age', async () => {
    for (const origin of ['https://app.example.com', 'https://team.corp.example', 'https://a.b.corp.example']) {
      const res = await preflight(origin);
      assert.equal(res.status, 200, origin);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-methods'], 'GET,PUT');
      assert.equal(res.headers['access-control-max-age'], '5');
      assert.equal(res.headers['x-echo-pod'], undefined, 'answered by the waypoint');
    }
  });

  it('does not allow the bare wildcard domain, other origins, or routes without the filter', async () => {
    for (const [origin, path] of [['https://corp.example', '/api'], ['https://evil.example', '/api'], ['https://app.example.com', '/other']] as const) {
      const res = await preflight(origin, path);
      assert.equal(res.headers['access-control-allow-origin'], undefined, `${origin} ${path}`);
    }
  });
});
