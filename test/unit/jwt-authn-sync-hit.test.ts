/**
 * The JWT filter's synchronous path for cached tokens (filters/jwt-authn/jwt-authn-filter.ts with
 * `KeySetHandle.current()`): a token the cache verified, under keys at hand, is accepted without a
 * promise (so the chain and the exchange stay synchronous), with the same effects as the
 * asynchronous path; a token that needs more makes the call asynchronous from that token on; a
 * remote key set that is due for refresh still serves synchronously and starts its background
 * refresh, as `get()` does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JWK } from 'jose';
import type { FilterResult, HookResult } from '../../src/filter/api.js';
import { isAsync } from '../../src/filter/api.js';
import { requestAuthOf } from '../../src/filter/request-auth.js';
import { eventually } from '../helpers/eventually.js';
import type { JwksServer, Key } from '../helpers/jwt-fixtures.js';
import { ISS, inline, makeKey, provider, request, sign, startJwksServer } from '../helpers/jwt-fixtures.js';
import { JwksCache } from '../../filters/jwt-authn/jwks-cache.js';
import { JwtAuthnStats, createJwtAuthnFactory } from '../../filters/jwt-authn/jwt-authn-filter.js';

function settled(r: HookResult | undefined): Promise<FilterResult> {
  assert.ok(r);
  return Promise.resolve(r);
}

describe('jwt-authn: cached tokens are accepted synchronously', () => {
  const jwks = new JwksCache();
  let key: Key;
  before(async () => {
    key = await makeKey('ES256', 's1');
  });
  after(() => jwks.close());

  it('a repeated token: the first call verifies (a promise), the next answers at once with the same effects', async () => {
    const stats = new JwtAuthnStats();
    const f = createJwtAuthnFactory({ providers: [provider(inline(key))], cache: jwks, stats });
    assert.ok(f);
    const filter = f.create();
    const token = await sign(key, {}, { sub: 'alice' });

    const first = request({ authorization: `Bearer ${token}` });
    const r1 = filter.onRequestHeaders?.(first, true);
    assert.ok(r1 && isAsync(r1), 'a full verification is asynchronous');
    assert.equal((await r1).action, 'continue');

    const second = request({ authorization: `Bearer ${token}` });
    const r2 = filter.onRequestHeaders?.(second, true);
    assert.ok(r2 && !isAsync(r2), 'a cache hit is not a promise');
    assert.equal(r2.action, 'continue');
    assert.equal(requestAuthOf(second.streamInfo)?.principal, `${ISS}/alice`);
    assert.equal(requestAuthOf(second.streamInfo)?.principal, requestAuthOf(first.streamInfo)?.principal);
    assert.equal(second.headers.get('authorization'), undefined, 'the token is removed as on the full path');
    assert.equal(stats.cacheHits, 1);
    assert.equal(stats.verified, 2);
  });

  it('two tokens, the second new: asynchronous from the second token on; the first token still sets the principal', async () => {
    const stats = new JwtAuthnStats();
    const f = createJwtAuthnFactory({ providers: [provider(inline(key))], cache: jwks, stats });
    assert.ok(f);
    const filter = f.create();
    const a = await sign(key, {}, { sub: 'first' });
    const b = await sign(key, {}, { sub: 'second' });
    assert.equal((await settled(filter.onRequestHeaders?.(request({ authorization: `Bearer ${a}` }), true))).action, 'continue');

    const both = request({ authorization: `Bearer ${a}` }, `/api?access_token=${b}`);
    const r = filter.onRequestHeaders?.(both, true);
    assert.ok(r && isAsync(r), 'the new token needs a verification');
    assert.equal((await r).action, 'continue');
    assert.equal(requestAuthOf(both.streamInfo)?.principal, `${ISS}/first`);
    assert.equal(stats.cacheHits, 1, 'the first token came from the cache');

    const again = request({ authorization: `Bearer ${a}` }, `/api?access_token=${b}`);
    const r2 = filter.onRequestHeaders?.(again, true);
    assert.ok(r2 && !isAsync(r2), 'both cached now');
    assert.equal(r2.action, 'continue');
    assert.equal(requestAuthOf(again.streamInfo)?.principal, `${ISS}/first`);
  });

  it('a bad token next to a cached one is still rejected', async () => {
    const f = createJwtAuthnFactory({ providers: [provider(inline(key))], cache: jwks });
    assert.ok(f);
    const filter = f.create();
    const good = await sign(key);
    await settled(filter.onRequestHeaders?.(request({ authorization: `Bearer ${good}` }), true));
    const r = await settled(filter.onRequestHeaders?.(request({ authorization: `Bearer ${good}` }, '/api?access_token=not.a.token'), true));
    assert.equal(r.action, 'respond');
  });
});

describe('jwt-authn: a remote key set due for refresh serves cached tokens synchronously', () => {
  let jwks: JwksServer;
  let uri: string;
  let key: Key;
  let served: { keys: JWK[] } = { keys: [] };
  before(async () => {
    key = await makeKey('ES256', 'r1');
    served = { keys: [key.jwk] };
    jwks = await startJwksServer(() => served);
    uri = jwks.uri;
  });
  after(async () => {
    await jwks.close();
  });

  it('stale but usable: the hit is synchronous and the background refresh starts', async () => {
    let clockMs = 0;
    const remote = new JwksCache({ refreshMs: 1000, maxStaleMs: 60_000, now: () => clockMs });
    try {
      const f = createJwtAuthnFactory({ providers: [provider({ kind: 'remote', uri, timeoutMs: 2000 })], cache: remote });
      assert.ok(f);
      const filter = f.create();
      const token = await sign(key);
      assert.equal((await settled(filter.onRequestHeaders?.(request({ authorization: `Bearer ${token}` }), true))).action, 'continue');
      assert.equal(remote.stats.fetches, 1);

      clockMs = 2000;
      const r = filter.onRequestHeaders?.(request({ authorization: `Bearer ${token}` }), true);
      assert.ok(r && !isAsync(r), 'served from the cache under the keys at hand');
      assert.equal(r.action, 'continue');
      await eventually(() => assert.equal(remote.stats.fetches, 2));
    } finally {
      await remote.close();
    }
  });
});
