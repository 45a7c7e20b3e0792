/**
 * The verified-token cache's last-hit shortcut (filters/jwt-authn/verified-token-cache.ts): the
 * token hit last is found by comparing strings instead of a map lookup. It must answer exactly
 * what the map would: never past `exp`, never before `nbf`, never under another key set, never
 * after the entry was evicted, and LRU order must stay exact. Tokens are fresh string copies each
 * time, as a header parsed per request is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerifiedTokenCache } from '../../filters/jwt-authn/verified-token-cache.js';

/** A new string with the same characters (not the same object), as each request's header is. */
const fresh = (s: string): string => `#${s}`.slice(1);
const T0 = 1_700_000_000_000;

describe('jwt-authn: the verified-token cache serves a repeated token by comparison', () => {
  it('a repeated token is still checked against exp at each use', () => {
    const c = new VerifiedTokenCache<string>(10);
    const keys = {};
    c.set('tok-a', keys, { exp: T0 / 1000 + 10 }, 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0 + 9_999), 'A', 'served from the last hit');
    assert.equal(c.get(fresh('tok-a'), keys, T0 + 10_000), undefined, 'at exp: not served');
    assert.equal(c.mayHave('tok-a'), false, 'and dropped');
    assert.equal(c.get(fresh('tok-a'), keys, T0), undefined, 'even if the clock goes back');
  });

  it('a repeated token is not served before its nbf (a clock moving back)', () => {
    const c = new VerifiedTokenCache<string>(10);
    const keys = {};
    c.set('tok-a', keys, { exp: T0 / 1000 + 100, nbf: T0 / 1000 }, 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0 + 1), 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0 + 2), 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0 - 1), undefined);
    assert.equal(c.get(fresh('tok-a'), keys, T0 + 3), undefined, 'dropped, not kept aside');
  });

  it('a key set change empties the cache, the last hit included', () => {
    const c = new VerifiedTokenCache<string>(10);
    const k1 = {};
    const k2 = {};
    c.set('tok-a', k1, { exp: T0 / 1000 + 100 }, 'A');
    assert.equal(c.get(fresh('tok-a'), k1, T0), 'A');
    assert.equal(c.get(fresh('tok-a'), k1, T0), 'A');
    assert.equal(c.get(fresh('tok-a'), k2, T0), undefined, 'rotated keys: re-verify');
    assert.equal(c.get(fresh('tok-a'), k1, T0), undefined, 'and the old set finds nothing either');
    assert.equal(c.mayHave('tok-a'), false);
  });

  it('an evicted token is not served from the last hit', () => {
    const c = new VerifiedTokenCache<string>(2);
    const keys = {};
    const exp = T0 / 1000 + 100;
    c.set('tok-a', keys, { exp }, 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    c.set('tok-b', keys, { exp }, 'B');
    c.set('tok-c', keys, { exp }, 'C');
    // Order was a, b: storing c evicts a, the oldest, even though a was the last hit.
    assert.equal(c.get(fresh('tok-a'), keys, T0), undefined);
    assert.equal(c.mayHave('tok-a'), false);
    assert.equal(c.get(fresh('tok-b'), keys, T0), 'B');
    assert.equal(c.get(fresh('tok-c'), keys, T0), 'C');
  });

  it('repeated hits keep the token the most recently used (LRU order stays exact)', () => {
    const c = new VerifiedTokenCache<string>(2);
    const keys = {};
    const exp = T0 / 1000 + 100;
    c.set('tok-a', keys, { exp }, 'A');
    c.set('tok-b', keys, { exp }, 'B');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    c.set('tok-c', keys, { exp }, 'C');
    assert.equal(c.get(fresh('tok-b'), keys, T0), undefined, 'b, the least recently used, went');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    assert.equal(c.get(fresh('tok-c'), keys, T0), 'C');
  });

  it('a different token of the same length is not taken for the last one', () => {
    const c = new VerifiedTokenCache<string>(10);
    const keys = {};
    c.set('tok-a', keys, { exp: T0 / 1000 + 100 }, 'A');
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
    assert.equal(c.mayHave('tok-b'), false);
    assert.equal(c.get('tok-b', keys, T0), undefined);
    assert.equal(c.get(fresh('tok-a'), keys, T0), 'A');
  });
});
