/**
 * `envoy.filters.http.jwt_authn` as Istio configures it for RequestAuthentication (phase
 * JWT_AUTHN): every provider of the attached policies, requirement "any provider, or missing".
 *
 * - No token: the request passes unauthenticated; AuthorizationPolicy decides (`requestPrincipals`).
 * - Each token found is matched to the provider with its `iss` among those reading its location,
 *   then verified with jose (signature with RS/PS/ES 256-512 or EdDSA — never `none` or HMAC —,
 *   `exp`/`nbf` with Envoy's 60 s clock skew, issuer, audiences). Any invalid token → 401 (403 for a
 *   disallowed audience, as Envoy) with `www-authenticate: Bearer realm="<uri>", error="invalid_token"`,
 *   body = Envoy's status text, details `jwt_authn_access_denied{<text_with_underscores>}`.
 * - The first verified token sets the request principal `<iss>/<sub>` (filter state, read by
 *   authz); `outputPayloadToHeader` gets the base64url payload, `outputClaimToHeaders` the claims;
 *   the token's header is removed unless `forwardOriginalToken`.
 * - Output headers are always removed from the incoming request first: only a verified token may
 *   set them, so a client cannot forge "verified" claims for the app.
 * - Verified tokens are cached per provider (verified-token-cache.ts, Envoy's `jwt_cache_config`):
 *   a repeated token costs a map lookup instead of a signature check, until its `exp` or a change
 *   of the provider's key set.
 */
import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions, JWTVerifyResult } from 'jose';
import { decodeJwt, jwtVerify } from 'jose';
import type { FilterFactory, FilterResult, HookResult, RequestContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { RequestAuth } from '../../src/filter/request-auth.js';
import { setRequestAuth } from '../../src/filter/request-auth.js';
import type { JwksCache, KeySetHandle } from './jwks-cache.js';
import { inlineKeySet } from './jwks-cache.js';
import type { JwtProvider } from './jwt-provider.js';
import type { ExtractedToken, LocationEntry } from './token-extractor.js';
import { extractTokens, locationsOf, stripToken } from './token-extractor.js';
import { DEFAULT_JWT_CACHE_SIZE, VerifiedTokenCache } from './verified-token-cache.js';

export const JWT_AUTHN_FILTER_NAME = 'envoy.filters.http.jwt_authn';
/** Envoy's default `clock_skew_seconds`. */
export const CLOCK_SKEW_SECONDS = 60;
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Envoy truncates the path in the realm (jwt_authn `kMaxPathLength`). */
const MAX_REALM_PATH = 256;

/** Envoy jwt_verify_lib status texts for the failures we report. */
export const JWT_STATUS = Object.freeze({
  badFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  unknownIssuer: 'Jwt issuer is not configured',
  audienceNotAllowed: 'Audiences in Jwt are not allowed',
  verificationFails: 'Jwt verification fails',
  noMatchingKey: "Jwks doesn't have key to match kid or alg from Jwt",
  jwksFetchFailed: 'Jwks remote fetch is failed',
});
type JwtStatus = (typeof JWT_STATUS)[keyof typeof JWT_STATUS];

export class JwtAuthnStats {
  verified = 0;
  rejected = 0;
  missing = 0;
  /** Tokens accepted from the verified-token cache (no signature check). */
  cacheHits = 0;
}

/** jose's `jwtVerify` signature: the seam tests use to count signature checks. */
export type JwtVerifier = (token: string, keys: JWTVerifyGetKey, options: JWTVerifyOptions) => Promise<Pick<JWTVerifyResult, 'payload'>>;

export interface JwtAuthnOptions {
  readonly providers: readonly JwtProvider[];
  readonly cache: JwksCache;
  readonly stats?: JwtAuthnStats;
  /** Verified tokens kept per provider; 0 disables the cache. Default: Envoy's 100. */
  readonly tokenCacheSize?: number;
  /** Default: jose's `jwtVerify`. */
  readonly verify?: JwtVerifier;
  /** Clock in epoch ms, for the cache and the verifier alike. Default: `Date.now`. */
  readonly now?: () => number;
}

/** What a verification yields and the cache keeps: computed once per token, not per request. */
interface Verified {
  readonly payload: JWTPayload;
  readonly auth: RequestAuth;
}

interface CompiledProvider {
  readonly provider: JwtProvider;
  readonly keys: KeySetHandle;
  readonly audience: string[] | undefined;
  readonly tokens: VerifiedTokenCache<Verified>;
}

interface Verification {
  readonly verify: JwtVerifier;
  readonly now: () => number;
}

/** `undefined` when there is no provider: the chain then needs no JWT filter. */
export function createJwtAuthnFactory(opts: JwtAuthnOptions): FilterFactory | undefined {
  if (opts.providers.length === 0) return undefined;
  const providers: CompiledProvider[] = opts.providers.map((p) => ({
    provider: p,
    keys: p.jwks.kind === 'inline' ? inlineKeySet(p.jwks.jwks) : opts.cache.remote(p.jwks.uri, p.jwks.timeoutMs, p.jwks.discovery === true),
    audience: p.audiences.length > 0 ? [...p.audiences] : undefined,
    tokens: new VerifiedTokenCache<Verified>(opts.tokenCacheSize ?? DEFAULT_JWT_CACHE_SIZE),
  }));
  const verification: Verification = { verify: opts.verify ?? jwtVerify, now: opts.now ?? Date.now };
  const locations = locationsOf(opts.providers);
  const outputHeaders = [...new Set(opts.providers.flatMap((p) => [...(p.outputPayloadToHeader ? [p.outputPayloadToHeader] : []), ...p.outputClaimToHeaders.map((c) => c.header)]))];
  const stats = opts.stats ?? new JwtAuthnStats();
  const instance: StreamFilter = Object.freeze({
    onRequestHeaders(ctx: RequestContext): HookResult {
      for (const h of outputHeaders) ctx.headers.delete(h);
      const tokens = extractTokens(ctx, locations);
      if (tokens.length === 0) {
        stats.missing++;
        return CONTINUE;
      }
      // Hot path: tokens the cache already verified, under keys at hand, are accepted without a
      // promise; the first token that needs more goes on asynchronously from where this stopped.
      const verified: VerifiedToken[] = [];
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i] as ExtractedToken;
        const hit = cachedNow(t.token, t.entry, providers, verification.now());
        if (hit === undefined) return verifyAll(ctx, tokens, i, verified, providers, stats, verification);
        stats.cacheHits++;
        verified.push({ token: t, provider: hit.provider, result: hit.result });
      }
      return accept(ctx, verified, stats);
    },
  });
  return { name: JWT_AUTHN_FILTER_NAME, phase: 'JWT_AUTHN', create: () => instance };
}

interface VerifiedToken {
  readonly token: ExtractedToken;
  readonly provider: CompiledProvider;
  readonly result: Verified;
}

/** Tokens from index `from` on (the ones before are in `verified` already), waiting where needed. */
async function verifyAll(
  ctx: RequestContext,
  tokens: readonly ExtractedToken[],
  from: number,
  verified: VerifiedToken[],
  providers: readonly CompiledProvider[],
  stats: JwtAuthnStats,
  v: Verification,
): Promise<FilterResult> {
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i] as ExtractedToken;
    const hit = await cached(t.token, t.entry, providers, v.now());
    if (hit) {
      stats.cacheHits++;
      verified.push({ token: t, provider: hit.provider, result: hit.result });
      continue;
    }
    const r = await verifyOne(t.token, t.entry, providers, v);
    if (typeof r === 'string') {
      stats.rejected++;
      return rejection(ctx, r);
    }
    verified.push({ token: t, provider: r.provider, result: r.result });
  }
  return accept(ctx, verified, stats);
}

/** Every token verified: the request principal, output headers, token removal. */
function accept(ctx: RequestContext, verified: readonly VerifiedToken[], stats: JwtAuthnStats): FilterResult {
  stats.verified++;
  let first = true;
  for (const v of verified) {
    const p = v.provider.provider;
    if (first) {
      setRequestAuth(ctx.streamInfo, v.result.auth);
      first = false;
    }
    if (p.outputPayloadToHeader) ctx.headers.set(p.outputPayloadToHeader, v.token.token.split('.')[1] ?? '');
    for (const c of p.outputClaimToHeaders) {
      const value = claimText(v.result.payload, c.claim);
      if (value !== undefined) ctx.headers.set(c.header, value);
    }
    if (!p.forwardOriginalToken) stripToken(ctx, v.token.entry.location);
  }
  return CONTINUE;
}

/**
 * {@link cached} without waiting: a hit under the keys the provider has at hand; `undefined` for a
 * miss, or when the keys are not at hand (the asynchronous path then decides, as before). A miss
 * here leaves nothing for that path to count twice: `get` only counts hits, and what it drops
 * (expired entries, a cache of an older key set) stays dropped.
 */
function cachedNow(token: string, entry: LocationEntry, providers: readonly CompiledProvider[], nowMs: number): { provider: CompiledProvider; result: Verified } | undefined {
  for (const i of entry.providers) {
    const provider = providers[i];
    if (!provider?.tokens.mayHave(token)) continue;
    const keys = provider.keys.current();
    if (keys === undefined) return undefined;
    const result = provider.tokens.get(token, keys, nowMs);
    return result ? { provider, result } : undefined;
  }
  return undefined;
}

/**
 * A token verified earlier by one of the providers reading its location. Only the provider its
 * `iss` selects ever stores it, so this finds the same provider a full verification would, without
 * decoding the token.
 */
async function cached(token: string, entry: LocationEntry, providers: readonly CompiledProvider[], nowMs: number): Promise<{ provider: CompiledProvider; result: Verified } | undefined> {
  for (const i of entry.providers) {
    const provider = providers[i];
    if (!provider?.tokens.mayHave(token)) continue;
    let keys: JWTVerifyGetKey;
    try {
      keys = await provider.keys.get();
    } catch {
      return undefined; // the full path reports the JWKS failure
    }
    const result = provider.tokens.get(token, keys, nowMs);
    return result ? { provider, result } : undefined;
  }
  return undefined;
}

async function verifyOne(token: string, entry: LocationEntry, providers: readonly CompiledProvider[], v: Verification): Promise<JwtStatus | { provider: CompiledProvider; result: Verified }> {
  if (token.split('.').length !== 3) return JWT_STATUS.badFormat;
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    return JWT_STATUS.badFormat;
  }
  const idx = entry.providers.find((i) => providers[i]?.provider.issuer === unverified.iss);
  const provider = idx === undefined ? undefined : providers[idx];
  if (!provider) return JWT_STATUS.unknownIssuer;
  let keys: JWTVerifyGetKey;
  try {
    keys = await provider.keys.get();
  } catch {
    return JWT_STATUS.jwksFetchFailed;
  }
  let r = await verifyWith(token, keys, provider, v);
  if (r === JWT_STATUS.noMatchingKey) {
    // Key rotation: a new `kid` triggers one refetch (rate-limited by the cache).
    const fresh = await provider.keys.refreshForUnknownKid();
    if (fresh) {
      keys = fresh;
      r = await verifyWith(token, keys, provider, v);
    }
  }
  if (typeof r === 'string') return r;
  const payload = deepFreeze(r);
  const result: Verified = { payload, auth: deepFreeze(authOf(payload, provider.provider.spaceDelimitedClaims ?? DEFAULT_SPACE_DELIMITED)) };
  provider.tokens.set(token, keys, payload, result);
  return { provider, result };
}

async function verifyWith(token: string, keys: JWTVerifyGetKey, p: CompiledProvider, v: Verification): Promise<JwtStatus | JWTPayload> {
  try {
    const { payload } = await v.verify(token, keys, {
      issuer: p.provider.issuer,
      ...(p.audience ? { audience: p.audience } : {}),
      clockTolerance: CLOCK_SKEW_SECONDS,
      algorithms: ALGORITHMS,
      currentDate: new Date(v.now()),
    });
    return payload;
  } catch (err) {
    return statusOf(err);
  }
}

function statusOf(err: unknown): JwtStatus {
  const e = err as { code?: unknown; claim?: unknown };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return JWT_STATUS.expired;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'nbf') return JWT_STATUS.notYetValid;
      if (e.claim === 'aud') return JWT_STATUS.audienceNotAllowed;
      if (e.claim === 'iss') return JWT_STATUS.unknownIssuer;
      return JWT_STATUS.verificationFails;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return JWT_STATUS.noMatchingKey;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return JWT_STATUS.badFormat;
    default:
      return JWT_STATUS.verificationFails;
  }
}

function rejection(ctx: RequestContext, status: JwtStatus): FilterResult {
  const proto = ctx.headers.get('x-forwarded-proto') ?? ctx.scheme;
  const realm = `${proto}://${ctx.authority}${ctx.path.slice(0, MAX_REALM_PATH)}`;
  return respond({
    status: status === JWT_STATUS.audienceNotAllowed ? 403 : 401,
    body: status,
    headers: { 'www-authenticate': `Bearer realm="${realm}", error="invalid_token"` },
    details: `jwt_authn_access_denied{${status.replaceAll(' ', '_')}}`,
  });
}

/** A cached payload is shared by every request that presents the token: nobody may change it. */
function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Istio's default space-delimited claims (istiod always adds them to a provider's list). */
const DEFAULT_SPACE_DELIMITED: readonly string[] = ['permission', 'scope'];

function authOf(payload: JWTPayload, spaceDelimited: readonly string[]): { principal: string; audiences: string[]; presenter?: string; claims: Record<string, unknown> } {
  const aud = payload.aud === undefined ? [] : typeof payload.aud === 'string' ? [payload.aud] : [...payload.aud];
  const azp = payload['azp'];
  return {
    principal: `${payload.iss ?? ''}/${payload.sub ?? ''}`,
    audiences: aud,
    ...(typeof azp === 'string' ? { presenter: azp } : {}),
    claims: splitSpaceDelimited(payload, spaceDelimited),
  };
}

/**
 * The claims policy matches on, as Envoy's `normalize_payload_in_metadata` writes them: each named
 * top-level claim whose value is a string becomes the list of its space-separated words (empty
 * words dropped), so `scope: "read write"` matches `values: [write]`. Other claims, and the
 * payload headers receive (`outputPayloadToHeader`, `outputClaimToHeaders`), are unchanged.
 */
function splitSpaceDelimited(payload: JWTPayload, names: readonly string[]): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const name of names) {
    if (!Object.hasOwn(payload, name)) continue;
    const v = payload[name];
    if (typeof v !== 'string') continue;
    out ??= { ...payload };
    // defineProperty: a claim named `__proto__` stays an ordinary property.
    Object.defineProperty(out, name, { value: v.split(' ').filter((w) => w !== ''), enumerable: true, writable: true, configurable: true });
  }
  return out ?? payload;
}

/** A claim as a header value: strings as is, numbers and booleans printed, string lists joined. */
function claimText(payload: JWTPayload, claim: string): string | undefined {
  const v = payload[claim];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  return undefined;
}
