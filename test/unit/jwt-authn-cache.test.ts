/**
 * The JWT filter's verified-token cache (filters/jwt-authn/verified-token-cache.ts), driven through
 * the real filter with real signed tokens: signature checks are counted through the filter's
 * verifier seam (jose's `jwtVerify`, wrapped). Hits skip the check; expiry, `nbf`, a JWKS change,
 * provider identity and the size bound each force a real verification again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { jwtVerify } from 'jose';
import type { FilterResult, RequestContext } from '../../src/filter/api.js';
import { requestAuthOf } from '../../src/filter/request-auth.js';
import type { JwksServer, Key } from '../helpers/jwt-fixtures.js';
import { ISS, inline, makeKey, now, provider, rejected, request, sign, startJwksServer } from '../helpers/jwt-fixtures.js';
import { JwksCache } from '../../filters/jwt-authn/jwks-cache.js';
import type { JwtAuthnOptions, JwtVerifier } from '../../filters/jwt-authn/jwt-authn-filter.js';
import { JWT_STATUS, JwtAuthnStats, createJwtAuthnFactory } from '../../filters/jwt-authn/jwt-authn-filter.js';
import type { JwtProvider } from '../../filters/jwt-authn/jwt-provider.js';
import { VerifiedTokenCache } from '../../filters/jwt-authn/verified-token-cache.js';

const jwks = new JwksCache();

/** One filter (one config), its stats, and how many signature checks it has made. */
function filterWith(providers: readonly JwtProvider[], extra: Partial<JwtAuthnOptions> = {}): { call(ctx: RequestContext): Promise<FilterResult>; stats: JwtAuthnStats; readonly verifications: number } {
  let verifications = 0;
  const verify: JwtVerifier = (token, keys, options) => {
    verifications++;
    return jwtVerify(token, keys, options);
  };
  const stats = new JwtAuthnStats();
  const f = createJwtAuthnFactory({ providers, cache: jwks, stats, verify, ...extra });
  assert.ok(f);
  const instance = f.create();
  return {
    async call(ctx) {
      const r = await instance.onRequestHeaders?.(ctx, true);
      assert.ok(r);
      return r;
    },
    stats,
    get verifications() {
      return verifications;
    },
  };
}

const bearer = (token: string): RequestContext => request({ authorization: `Bearer ${token}` });

describe('jwt-authn: verified-token cache', () => {
  let es: Key;
  let other: Key;
  before(async () => {
    es = await makeKey('ES256', 'e1');
    other = await makeKey('ES256', 'e1');
  });
  after(() => jwks.close());

  it('accepts a repeated token without verifying it again, with the same principal and outputs', async () => {
    const token = await sign(es, { groups: ['a', 'b'] }, { aud: 'api' });
    const f = filterWith([provider(inline(es), { audiences: ['api'], outputClaimToHeaders: [{ header: 'x-groups', claim: 'groups' }], outputPayloadToHeader: 'x-payload' })]);
    for (let i = 0; i < 5; i++) {
      const ctx = request({ authorization: `Bearer ${token}`, 'x-groups': 'forged' });
      assert.equal((await f.call(ctx)).action, 'continue');
      assert.equal(requestAuthOf(ctx.streamInfo)?.principal, `${ISS}/alice`);
      assert.deepEqual(requestAuthOf(ctx.streamInfo)?.audiences, ['api']);
      assert.equal(ctx.headers.get('x-groups'), 'a,b');
      assert.equal(ctx.headers.get('x-payload'), token.split('.')[1]);
      assert.equal(ctx.headers.get('authorization'), undefined, 'stripped on a hit too');
    }
    assert.equal(f.verifications, 1);
    assert.equal(f.stats.cacheHits, 4);
    assert.equal(f.stats.verified, 5);
    // The cached claims are shared between requests, so they are immutable.
    const ctx = bearer(token);
    await f.call(ctx);
    assert.throws(() => {
      (requestAuthOf(ctx.streamInfo)?.claims as Record<string, unknown>)['sub'] = 'mallory';
    }, TypeError);
  });

  it('does not cache failures: a bad token is verified (and rejected) every time', async () => {
    const f = filterWith([provider(inline(es), { audiences: ['api'] })]);
    const forged = await sign(other, {}, { aud: 'api' });
    const wrongAud = await sign(es, {}, { aud: 'other' });
    for (let i = 0; i < 3; i++) {
      rejected(await f.call(bearer(forged)), JWT_STATUS.verificationFails);
      rejected(await f.call(bearer(wrongAud)), JWT_STATUS.audienceNotAllowed, 403);
    }
    assert.equal(f.verifications, 6);
    assert.equal(f.stats.cacheHits, 0);
  });

  it('never serves a token at or past its exp from the cache; rejects it once past the skew', async () => {
    let clockMs = Date.now();
    const exp = Math.floor(clockMs / 1000) + 120;
    const token = await sign(es, {}, { exp });
    const f = filterWith([provider(inline(es))], { now: () => clockMs });
    assert.equal((await f.call(bearer(token))).action, 'continue');
    clockMs = exp * 1000 - 1;
    assert.equal((await f.call(bearer(token))).action, 'continue');
    assert.equal(f.verifications, 1, 'a hit just before exp');
    clockMs = exp * 1000;
    assert.equal((await f.call(bearer(token))).action, 'continue', "inside Envoy's 60 s skew");
    assert.equal(f.verifications, 2, 'at exp the cache no longer answers: the verifier (with skew) does');
    clockMs = (exp + 61) * 1000;
    rejected(await f.call(bearer(token)), JWT_STATUS.expired);
    assert.equal(f.verifications, 3);
  });

  it('respects nbf: a token accepted early through the skew is not served from the cache before nbf', async () => {
    let clockMs = Date.now();
    const nbf = Math.floor(clockMs / 1000) + 30;
    const token = await sign(es, {}, { nbf, exp: nbf + 600 });
    const f = filterWith([provider(inline(es))], { now: () => clockMs });
    assert.equal((await f.call(bearer(token))).action, 'continue', 'within the skew');
    clockMs += 10_000;
    assert.equal((await f.call(bearer(token))).action, 'continue');
    assert.equal(f.verifications, 2, 'still before nbf: verified again');
    clockMs = nbf * 1000;
    assert.equal((await f.call(bearer(token))).action, 'continue');
    assert.equal(f.verifications, 2, 'from nbf on, a hit');
    clockMs = (nbf - 120) * 1000; // the clock stepped back past the skew
    rejected(await f.call(bearer(token)), JWT_STATUS.notYetValid);
  });

  it('does not cache a token without exp', async () => {
    const token = await sign(es, {}, { exp: null });
    const f = filterWith([provider(inline(es))]);
    for (let i = 0; i < 3; i++) assert.equal((await f.call(bearer(token))).action, 'continue');
    assert.equal(f.verifications, 3);
  });

  it('keeps providers apart: a token cached for one provider is checked afresh against another', async () => {
    const token = await sign(es, {}, { aud: 'api' });
    // Same issuer and keys, different token locations and audiences.
    const a = provider(inline(es), { audiences: ['api'], fromHeaders: [{ name: 'x-a', prefix: '' }] });
    const b = provider(inline(es), { audiences: ['billing'], fromHeaders: [{ name: 'x-b', prefix: '' }] });
    const f = filterWith([a, b]);
    assert.equal((await f.call(request({ 'x-a': token }))).action, 'continue');
    assert.equal((await f.call(request({ 'x-a': token }))).action, 'continue');
    assert.equal(f.verifications, 1);
    rejected(await f.call(request({ 'x-b': token })), JWT_STATUS.audienceNotAllowed, 403);
    rejected(await f.call(request({ 'x-b': token })), JWT_STATUS.audienceNotAllowed, 403);
    assert.equal(f.verifications, 3);
    // Another config (another filter) starts with its own, empty cache.
    const g = filterWith([a]);
    assert.equal((await g.call(request({ 'x-a': token }))).action, 'continue');
    assert.equal(g.verifications, 1);
  });

  it('stays bounded: least recently used tokens are evicted', async () => {
    const tokens = await Promise.all([0, 1, 2, 3].map((i) => sign(es, {}, { sub: `u${i}` })));
    const f = filterWith([provider(inline(es))], { tokenCacheSize: 3 });
    const use = async (i: number): Promise<void> => assert.equal((await f.call(bearer(tokens[i] ?? ''))).action, 'continue');
    await use(0);
    await use(1);
    await use(2);
    await use(0); // hit: 0 becomes the most recent, 1 the oldest
    assert.equal(f.verifications, 3);
    await use(3); // evicts 1
    assert.equal(f.verifications, 4);
    await use(0);
    await use(2);
    await use(3);
    assert.equal(f.verifications, 4, '0, 2 and 3 are still cached');
    await use(1);
    assert.equal(f.verifications, 5, '1 was evicted');
    const zero = filterWith([provider(inline(es))], { tokenCacheSize: 0 });
    for (let i = 0; i < 2; i++) assert.equal((await zero.call(bearer(tokens[0] ?? ''))).action, 'continue');
    assert.equal(zero.verifications, 2, 'size 0 disables the cache');
  });

  it('the cache itself never holds more than its size', () => {
    const c = new VerifiedTokenCache<number>(100);
    const keys = {};
    for (let i = 0; i < 1000; i++) c.set(`t${i}`, keys, { exp: now() + 600 }, i);
    assert.equal(c.size, 100);
    assert.equal(c.get('t999', keys, Date.now()), 999);
    assert.equal(c.get('t0', keys, Date.now()), undefined);
    c.set('x'.repeat(10_000), keys, { exp: now() + 600 }, 1);
    assert.equal(c.mayHave('x'.repeat(10_000)), false, 'oversized tokens are not held');
  });
});

describe('jwt-authn: verified-token cache and a remote JWKS', () => {
  let jwks: JwksServer;
  let uri: string;
  let served: { keys: JWK[] } = { keys: [] };
  let k1: Key;
  let k2: Key;
  before(async () => {
    k1 = await makeKey('ES256', 'r1');
    k2 = await makeKey('ES256', 'r2');
    jwks = await startJwksServer(() => served);
    uri = jwks.uri;
  });
  after(async () => {
    await jwks.close();
  });

  it('a key rotation that removes the signing key invalidates cached tokens', async () => {
    let jwksClockMs = 0;
    // The set is refreshed (synchronously, maxStale = refresh) once 1 s old on the JWKS clock.
    const remote = new JwksCache({ refreshMs: 1000, maxStaleMs: 1000, now: () => jwksClockMs });
    try {
      served = { keys: [k1.jwk] };
      const p = provider({ kind: 'remote', uri, timeoutMs: 2000 });
      const f = filterWith([p], { cache: remote });
      const token = await sign(k1);
      assert.equal((await f.call(bearer(token))).action, 'continue');
      assert.equal((await f.call(bearer(token))).action, 'continue');
      assert.equal(f.verifications, 1);
      assert.equal(remote.stats.fetches, 1);

      // A refresh that still has k1: the new set verifies the token once more, then caches it.
      jwksClockMs = 2000;
      served = { keys: [k1.jwk, k2.jwk] };
      assert.equal((await f.call(bearer(token))).action, 'continue');
      assert.equal((await f.call(bearer(token))).action, 'continue');
      assert.equal(remote.stats.fetches, 2);
      assert.equal(f.verifications, 2);

      // k1 is removed: the cached token must not survive the new set.
      jwksClockMs = 4000;
      served = { keys: [k2.jwk] };
      rejected(await f.call(bearer(token)), JWT_STATUS.noMatchingKey);
      rejected(await f.call(bearer(token)), JWT_STATUS.noMatchingKey);
      assert.equal(f.stats.cacheHits, 2);
      assert.equal((await f.call(bearer(await sign(k2)))).action, 'continue', 'the new key works');
    } finally {
      await remote.close();
    }
  });
});
