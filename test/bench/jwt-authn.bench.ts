/**
 * The JWT filter (filters/jwt-authn) on the bench's feature row token: one ES256 provider with an
 * inline JWKS, the same valid token on every request (the case the verified-token cache serves),
 * and a fresh token every request (every one a cache miss: the full signature check).
 */
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { JwksCache } from '../../filters/jwt-authn/jwks-cache.js';
import { createJwtAuthnFactory } from '../../filters/jwt-authn/jwt-authn-filter.js';
import { consume, report } from './micro-runner.js';

const ISS = 'https://issuer.bench.test';
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
const sign = (sub: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setIssuer(ISS).setSubject(sub).setAudience('api').setExpirationTime('1d').sign(privateKey);

const jwks = new JwksCache();
const factory = createJwtAuthnFactory({
  providers: [{ issuer: ISS, audiences: ['api'], jwks: { kind: 'inline', jwks: JSON.stringify({ keys: [jwk] }) }, fromHeaders: [], fromParams: [], fromCookies: [], outputClaimToHeaders: [], forwardOriginalToken: false }],
  cache: jwks,
});
if (!factory) throw new Error('no jwt filter built');
const filter = factory.create();

function ctx(token: string): HttpRequestContext {
  const headers = new HeaderMap();
  headers.set('authorization', `Bearer ${token}`);
  return new HttpRequestContext({
    method: 'GET',
    authority: 'reviews:9080',
    path: '/api/items',
    protocol: 'HTTP/1.1',
    headers,
    requestId: 'bench',
    source: { address: '127.1.0.2', port: 40000 },
    destination: { hostname: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default', port: 9080, appProtocol: 'http', connectAuthority: '127.100.0.10:9080' },
  });
}

/** `nsPerOp` for an async operation: median batch, after a warm-up. */
async function asyncNsPerOp(fn: () => Promise<unknown>, batch = 200, minMs = 1500): Promise<number> {
  const warmEnd = performance.now() + 500;
  while (performance.now() < warmEnd) for (let i = 0; i < batch; i++) consume(await fn());
  const samples: number[] = [];
  const end = performance.now() + minMs;
  while (performance.now() < end || samples.length < 5) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) consume(await fn());
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? NaN;
}

async function run(token: string): Promise<unknown> {
  // A fresh context per request, as the waypoint has: the filter strips the token it read.
  const r = await filter.onRequestHeaders?.(ctx(token), true);
  if (!r || r.action !== 'continue') throw new Error(`token rejected: ${JSON.stringify(r)}`);
  return r;
}

const repeated = await sign('bench');
await run(repeated);
report({ bench: 'jwt-authn', metric: 'ES256, same valid token every request', unit: 'ns/op', value: await asyncNsPerOp(() => run(repeated)) });

const fresh = await Promise.all(Array.from({ length: 4000 }, (_, i) => sign(`user-${i}`)));
let next = 0;
report({ bench: 'jwt-authn', metric: 'ES256, a new token every request', unit: 'ns/op', value: await asyncNsPerOp(() => run(fresh[next++ % fresh.length] ?? repeated), 50, 1500) });
await jwks.close();
