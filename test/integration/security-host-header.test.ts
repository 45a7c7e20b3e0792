/**
 * `host` is `:authority` for policy and routing, as in Envoy (its request header map maps every
 * lookup of `host` to `:authority`; since 1.27.4/1.28.2 an HTTP/2 `host` next to `:authority` is
 * discarded, runtime `http2_discard_host_header`). Over inner HTTP/2 a client could otherwise
 * send `:authority` to one name and `host` to another, and a `request.headers[host]` condition
 * would judge the name the request is not for — or, with no `host` at all, see nothing.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { statusOfOneRequest } from '../helpers/raw-h1-client.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const POLICY = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-host, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules:
    - when: [{key: "request.headers[host]", values: ["blocked.example*"]}]
    - to: [{operation: {paths: ["/only-reviews/*"]}}]
      when: [{key: "request.headers[host]", notValues: ["reviews*"]}]
`;

describe('request.headers[host] is the authority (HTTP/1.1 and inner HTTP/2)', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;

  const h1 = async (path: string, host: string): Promise<number> => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    try {
      return await statusOfOneRequest(socket, `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
    } finally {
      socket.destroy();
    }
  };

  const h2 = async (headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    const session = http2.connect('http://reviews:9080', { createConnection: () => socket });
    try {
      return await new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'GET', ...headers }, { endStream: true });
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
    mesh = await startLocalMesh({ extraFiles: { '90-security.yaml': POLICY } });
    sleep = mesh.pod('default', 'sleep');
  });
  after(async () => {
    await mesh?.close();
  });

  it('HTTP/1.1: the Host header is matched (unchanged behaviour)', async () => {
    assert.equal(await h1('/x', 'blocked.example'), 403);
    assert.equal(await h1('/x', 'reviews:9080'), 200);
    assert.equal(await h1('/only-reviews/x', 'reviews:9080'), 200);
    assert.equal(await h1('/only-reviews/x', 'other.example'), 403);
  });

  it('HTTP/2: a DENY on request.headers[host] applies to :authority, with or without a host field', async () => {
    assert.equal((await h2({ ':path': '/x', ':authority': 'blocked.example' })).status, 403);
    assert.equal((await h2({ ':path': '/x', ':authority': 'blocked.example', host: 'reviews:9080' })).status, 403, 'a second host does not hide :authority');
  });

  it('HTTP/2: notValues on request.headers[host] see :authority, not a client-chosen host', async () => {
    assert.equal((await h2({ ':path': '/only-reviews/x', ':authority': 'reviews:9080' })).status, 200);
    assert.equal((await h2({ ':path': '/only-reviews/x', ':authority': 'other.example', host: 'reviews:9080' })).status, 403);
  });

  it('HTTP/2: the app gets one host, the authority', async () => {
    const r = await h2({ ':path': '/seen', ':authority': 'reviews:9080', host: 'decoy.example' });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as EchoReport).headers['host'], 'reviews:9080');
  });
});
