/**
 * A repeated request header is seen whole by policy and JWT, as in Envoy: its header map keeps
 * every line (a `request.headers[x]` condition judges the lines joined with `,`), and its JWT
 * extractor takes a token from each `authorization` line. Node's parsers keep `authorization`,
 * `user-agent`, `referer`... once, and so did our header map: a second `user-agent` slipped past a
 * DENY that matched its value, and a second bearer token was never verified.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CryptoKey } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { WorkloadIR } from '../../src/config/ir.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { statusOfOneRequest } from '../helpers/raw-h1-client.js';
import { startLocalMesh } from '../helpers/local-mesh.js';

const ISS = 'https://issuer.repeated.test';

function securityYaml(jwks: string): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  jwtRules:
    - issuer: ${ISS}
      jwks: '${jwks}'
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-bots, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  action: DENY
  rules:
    - when: [{key: "request.headers[user-agent]", values: ["*bot"]}]
`;
}

describe('repeated request headers reach policy and JWT whole', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;
  let key: CryptoKey;

  const token = (): Promise<string> => new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(ISS).setSubject('alice').setExpirationTime('10m').sign(key);

  const get = async (lines: readonly string[]): Promise<number> => {
    const socket = await mesh.connectFrom(sleep, 'reviews', 9080);
    try {
      return await statusOfOneRequest(socket, `GET / HTTP/1.1\r\nhost: reviews:9080\r\n${lines.map((l) => `${l}\r\n`).join('')}connection: close\r\n\r\n`);
    } finally {
      socket.destroy();
    }
  };

  before(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] });
    mesh = await startLocalMesh({ extraFiles: { '90-security.yaml': securityYaml(jwks) } });
    sleep = mesh.pod('default', 'sleep');
  });
  after(async () => {
    await mesh?.close();
  });

  it('a DENY on a header value matches a second line of that header', async () => {
    assert.equal(await get(['user-agent: curl']), 200);
    assert.equal(await get(['user-agent: evilbot']), 403);
    assert.equal(await get(['user-agent: curl', 'user-agent: evilbot']), 403, 'the second line is judged too');
  });

  it('a second authorization line is verified: a valid token then a forged one is 401', async () => {
    const good = await token();
    assert.equal(await get([`authorization: Bearer ${good}`]), 200);
    assert.equal(await get([`authorization: Bearer ${good}`, 'authorization: Bearer not.a.jwt']), 401);
    assert.equal(await get([`authorization: Bearer ${good}`, `authorization: Bearer ${good}`]), 200, 'the same token twice is one token');
  });
});
