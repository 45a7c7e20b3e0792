/**
 * One provider's cache of verified tokens (Envoy jwt_authn `jwt_cache_config`): the exact token
 * string → what its verification produced, so a client that sends the same token on every request
 * pays one signature check, not one per request (ES256 verification is ~250 µs here).
 *
 * Safety rules, each because a hit skips the signature check:
 * - one instance per provider (built with the filter's config), so a token verified for one
 *   issuer/audience set is never an answer for another;
 * - a hit is served only while `nbf ≤ now < exp` (no clock skew: inside the skew window the token
 *   goes through the full verifier, which applies Envoy's 60 s); tokens without `exp` are not
 *   cached, so nothing lives past its lifetime;
 * - every entry remembers the key set that verified it; a lookup with a different key set (a remote
 *   JWKS refreshed or rotated) empties the cache, so a token whose key was removed is re-verified
 *   and rejected;
 * - only successes are stored (the caller never inserts failures), and oversized tokens are not
 *   stored, so the cache is bounded to `maxEntries` × `MAX_CACHED_TOKEN_LENGTH`;
 * - LRU eviction (Map insertion order; a hit moves the entry to the end).
 *
 * The entry hit last is also held aside: a client sends the same token on every request, and
 * comparing it with the last one (a memcmp) is cheaper than hashing a few hundred characters of a
 * fresh header string for the map. It is the same entry, under the same checks (key set first,
 * then `nbf`/`exp` at each use); it is forgotten whenever it stops being the newest in LRU order
 * (another entry stored or hit), dropped or cleared, so skipping its move keeps the order exact.
 */

/** Envoy's default `jwt_cache_size`. */
export const DEFAULT_JWT_CACHE_SIZE = 100;
/** Longer tokens are verified every time rather than held in memory. */
export const MAX_CACHED_TOKEN_LENGTH = 8192;

interface Entry<V> {
  readonly value: V;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
}

export class VerifiedTokenCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** The key set (any identity-comparable handle) that verified every current entry. */
  private keys: unknown;
  /** The entry hit last while it is the newest in LRU order (see the file comment), else undefined. */
  private lastToken: string | undefined;
  private lastEntry: Entry<V> | undefined;
  hits = 0;

  constructor(private readonly maxEntries: number = DEFAULT_JWT_CACHE_SIZE) {}

  get size(): number {
    return this.entries.size;
  }

  /** Cheap pre-check, so a miss need not first wait for the provider's key set. */
  mayHave(token: string): boolean {
    return token === this.lastToken || this.entries.has(token);
  }

  /** The cached value of `token` if it is valid now under `keys`. */
  get(token: string, keys: unknown, nowMs: number): V | undefined {
    if (keys !== this.keys) {
      this.clear(keys);
      return undefined;
    }
    const last = token === this.lastToken;
    const e = last ? this.lastEntry : this.entries.get(token);
    if (!e) return undefined;
    if (nowMs >= e.expiresAtMs || nowMs < e.notBeforeMs) {
      // Not before nbf only happens with a clock moving backwards: drop it either way.
      this.entries.delete(token);
      this.forgetLast();
      return undefined;
    }
    if (!last) {
      this.entries.delete(token);
      this.entries.set(token, e);
      this.lastToken = token;
      this.lastEntry = e;
    }
    this.hits++;
    return e.value;
  }

  /** Stores a token `keys` just verified, with its `exp`/`nbf` claims (seconds). */
  set(token: string, keys: unknown, claims: { readonly exp?: number; readonly nbf?: number }, value: V): void {
    if (this.maxEntries <= 0 || token.length > MAX_CACHED_TOKEN_LENGTH) return;
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return;
    // Verifications run concurrently: one that finished with an older key set than the current
    // entries replaces them; the next lookup with the newer set empties the cache again, so no
    // entry is ever served under a key set other than the one that verified it.
    if (keys !== this.keys) this.clear(keys);
    this.forgetLast();
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(token, {
      value,
      notBeforeMs: typeof claims.nbf === 'number' && Number.isFinite(claims.nbf) ? claims.nbf * 1000 : -Infinity,
      expiresAtMs: claims.exp * 1000,
    });
  }

  private clear(keys: unknown): void {
    this.entries.clear();
    this.forgetLast();
    this.keys = keys;
  }

  private forgetLast(): void {
    this.lastToken = undefined;
    this.lastEntry = undefined;
  }
}
