/**
 * Config changes reach every request, also on connections opened before the change (issue 17):
 * as in Envoy's connection manager, each new request takes the current snapshot (routes with
 * their canary weights, AuthorizationPolicy, RequestAuthentication, Wasm), and a request in
 * flight keeps the one it started with. Driven over one long-lived HTTP/1.1 keep-alive
 * connection and one HTTP/2 connection each, through the real mesh path (client ztunnel →
 * waypoint → destination ztunnel → echo app).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from 'undici';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { REVIEWS_VERSION_SERVICES_YAML } from '../helpers/mesh-fixtures.js';

/** All of reviews' traffic to one version (a canary moved from 0 to 100%). */
function canaryYaml(version: 'v1' | 'v2'): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-canary, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - backendRefs:
        - {name: reviews-v1, port: 9080, weight: ${version === 'v1' ? 100 : 0}}
        - {name: reviews-v2, port: 9080, weight: ${version === 'v2' ? 100 : 0}}
`;
}

/** Denies `path` on reviews (a revoked permission). */
function denyYaml(path: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: revoke, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules: [{to: [{operation: {paths: ["${path}"]}}]}]
`;
}

interface InFlight {
  readonly started: Promise<Reply>;
  finish(): void;
  readonly body: Promise<string>;
}

interface Reply {
  readonly status: number;
  readonly pod: string | undefined;
}

/** One long-lived connection to reviews:9080 from a pod. */
interface Conn {
  get(path: string): Promise<Reply>;
  /**
   * `POST /echo-body` whose body ends only when `finish` is called: `started` resolves with the
   * status once the response began (the request passed the waypoint), `body` with what came back.
   */
  echoSlowly(): InFlight;
  /** The number of transport connections the client opened (stays 1). */
  readonly dials: number;
  close(): Promise<void>;
}

function podOf(status: number, body: string): string | undefined {
  return status === 200 ? (JSON.parse(body) as EchoReport).pod : undefined;
}

async function h1Conn(socket: net.Socket): Promise<Conn> {
  let dials = 0;
  const client = new Client('http://reviews:9080', {
    pipelining: 1,
    keepAliveTimeout: 60_000,
    connect: (_opts, cb) => {
      dials++;
      if (dials > 1) cb(new Error('this test holds one connection'), null);
      else queueMicrotask(() => cb(null, socket));
    },
  });
  return {
    async get(path) {
      const r = await client.request({ method: 'GET', path });
      const text = await r.body.text();
      return { status: r.statusCode, pod: podOf(r.statusCode, text) };
    },
    echoSlowly() {
      let finish = (): void => undefined;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      async function* body(): AsyncGenerator<Buffer> {
        yield Buffer.from('first;');
        await gate;
        yield Buffer.from('last');
      }
      const r = client.request({ method: 'POST', path: '/echo-body', body: Readable.from(body()) });
      return {
        started: r.then((x) => ({ status: x.statusCode, pod: String(x.headers['x-echo-pod']) })),
        finish: () => finish(),
        body: r.then((x) => x.body.text()),
      };
    },
    get dials() {
      return dials;
    },
    close: () => client.close(),
  };
}

async function h2Conn(socket: net.Socket): Promise<Conn> {
  const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
  session.on('error', () => undefined);
  const exchange = (req: http2.ClientHttp2Stream): Promise<Reply> =>
    new Promise((resolve, reject) => {
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: string) => (body += c));
      req.on('end', () => resolve({ status, pod: podOf(status, body) }));
      req.on('error', reject);
    });
  return {
    get: (path) => exchange(session.request({ ':path': path, ':authority': 'reviews:9080' }, { endStream: true })),
    echoSlowly() {
      const req = session.request({ ':method': 'POST', ':path': '/echo-body', ':authority': 'reviews:9080' });
      req.write('first;');
      const started = new Promise<Reply>((resolve, reject) => {
        req.once('response', (h) => resolve({ status: Number(h[':status']), pod: String(h['x-echo-pod']) }));
        req.once('error', reject);
      });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      const ended = new Promise<string>((resolve, reject) => {
        req.once('end', () => resolve(body));
        req.once('error', reject);
      });
      return { started, finish: () => req.end('last'), body: ended };
    },
    dials: 1,
    close: () =>
      new Promise<void>((resolve) => {
        session.close(() => resolve());
        socket.destroy();
      }),
  };
}

describe('config changes reach requests on connections opened before them', () => {
  let mesh: LocalMesh;

  before(async () => {
    mesh = await startLocalMesh({ extraFiles: { '70-versions.yaml': REVIEWS_VERSION_SERVICES_YAML, '71-canary.yaml': canaryYaml('v1') } });
  });

  after(async () => {
    await mesh.close();
  });

  /** Writes a config file and waits until the store has taken it. */
  async function apply(name: string, yaml: string): Promise<void> {
    const before = mesh.store.current().generation;
    mesh.config.write(name, yaml);
    await eventually(async () => {
      if (mesh.store.current().generation > before) return true;
      await mesh.store.reload();
      return mesh.store.current().generation > before;
    }, 10_000);
  }

  for (const kind of ['HTTP/1.1', 'HTTP/2'] as const) {
    it(`${kind}: the next request on an open connection takes the new route and the revoked permission`, async () => {
      const socket = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080);
      const conn = kind === 'HTTP/1.1' ? await h1Conn(socket) : await h2Conn(socket);
      try {
        const first = await conn.get('/canary');
        assert.equal(first.status, 200);
        assert.equal(first.pod, 'default/reviews-v1');

        // The canary moves to v2: the next request on the same connection goes there.
        await apply('71-canary.yaml', canaryYaml('v2'));
        const moved = await conn.get('/canary');
        assert.equal(moved.status, 200);
        assert.equal(moved.pod, 'default/reviews-v2');

        // A request in flight when permission is revoked keeps the snapshot it started with ...
        const inFlight = conn.echoSlowly();
        const started = await inFlight.started;
        assert.equal(started.status, 200);
        assert.equal(started.pod, 'default/reviews-v2');
        await apply('72-revoke.yaml', denyYaml('/echo-body'));
        inFlight.finish();
        assert.equal(await inFlight.body, 'first;last', 'the request that started before the revocation completes');
        // ... and the next request on the same connection is refused.
        assert.equal((await conn.get('/echo-body')).status, 403);

        // Granted again: the connection follows once more.
        await apply('72-revoke.yaml', denyYaml('/elsewhere'));
        assert.equal((await conn.get('/echo-body')).status, 200);
        assert.equal(conn.dials, 1, 'every request used the one connection');
      } finally {
        await conn.close();
        await apply('71-canary.yaml', canaryYaml('v1'));
      }
    });
  }
});
