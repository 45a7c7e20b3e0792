/**
 * JSON Web Key Sets for JWT verification: inline sets (parsed once per config) and remote sets
 * fetched over HTTPS with undici. One {@link JwksCache} lives as long as the waypoint, across
 * config snapshots, so a reload does not refetch every key set.
 *
 * Remote sets (Envoy `remote_jwks` behaviour, with Istio's defaults where it sets them):
 * - fetched on first use, then refreshed in the background of requests once `refreshMs` old;
 * - refetched when a token names a `kid` the set lacks (key rotation), at most once per
 *   `unknownKidCooldownMs`, so unknown-kid tokens cannot turn the waypoint into a fetch amplifier;
 * - a failed refresh keeps serving the last good set while it is younger than `maxStaleMs`;
 * - every fetch is bounded by the provider's timeout; the TLS trust bundle is configurable;
 * - OpenID discovery (no `jwks`/`jwksUri`): the issuer's `/.well-known/openid-configuration` is
 *   fetched first for its `jwks_uri`, remembered until a key-set fetch fails.
 */
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet } from 'jose';
import type { Agent, request } from 'undici';

export interface JwksCacheOptions {
  /** PEM roots trusted for `https` JWKS servers; default: Node's bundled roots. */
  readonly trustBundle?: readonly string[];
  readonly refreshMs?: number;
  readonly maxStaleMs?: number;
  readonly unknownKidCooldownMs?: number;
  /** Largest JWKS document accepted. */
  readonly maxBytes?: number;
  readonly now?: () => number;
}

export const DEFAULT_JWKS_REFRESH_MS = 5 * 60_000;
export const DEFAULT_JWKS_MAX_STALE_MS = 60 * 60_000;
export const DEFAULT_UNKNOWN_KID_COOLDOWN_MS = 1_000;
const DEFAULT_MAX_BYTES = 1 << 20;

/** A key set ready for `jwtVerify`, and how to ask for a fresher one. */
export interface KeySetHandle {
  /** The current keys; rejects when none could ever be fetched. */
  get(): Promise<JWTVerifyGetKey>;
  /**
   * The keys `get()` would answer without waiting (same side effects: a due background refresh
   * starts), or undefined when it would have to wait. Lets a cache hit skip the promise hops.
   */
  current(): JWTVerifyGetKey | undefined;
  /** Called after a token's `kid` matched no key: resolves to a refreshed set, or `undefined`. */
  refreshForUnknownKid(): Promise<JWTVerifyGetKey | undefined>;
}

/** Parses an inline JWKS (validated at translation); throws on malformed input (config time). */
export function inlineKeySet(jwks: string): KeySetHandle {
  const set = createLocalJWKSet(JSON.parse(jwks) as JSONWebKeySet);
  const ready = Promise.resolve(set);
  return { get: () => ready, current: () => set, refreshForUnknownKid: () => Promise.resolve(undefined) };
}

/** The HTTP client of remote key sets: undici, imported on the first fetch (~20 MiB of RSS a waypoint with inline or no JWKS never pays). */
interface JwksHttp {
  readonly agent: Agent;
  readonly request: typeof request;
}

export class JwksCache {
  private http: Promise<JwksHttp> | undefined;
  private readonly remotes = new Map<string, RemoteKeySet>();
  readonly stats = { fetches: 0, fetchFailures: 0 };
  private closed = false;

  constructor(private readonly opts: JwksCacheOptions = {}) {}

  private readonly httpClient = (): Promise<JwksHttp> =>
    (this.http ??= import('undici').then((u) => ({
      agent: new u.Agent({ connect: this.opts.trustBundle ? { ca: [...this.opts.trustBundle] } : {}, keepAliveTimeout: 10_000 }),
      request: u.request,
    })));

  /**
   * The shared handle of a remote set (same URI → same cache entry). With `discovery`, `uri` is an
   * OpenID configuration document whose `jwks_uri` names the set.
   */
  remote(uri: string, timeoutMs: number, discovery = false): KeySetHandle {
    const key = discovery ? `discovery ${uri}` : uri;
    let r = this.remotes.get(key);
    if (!r) {
      r = new RemoteKeySet(uri, timeoutMs, this.httpClient, this.opts, this.stats, discovery);
      this.remotes.set(key, r);
    }
    return r;
  }

  /** Idempotent: the owner (a waypoint) may be closed more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.http) await (await this.http).agent.close();
  }
}

class RemoteKeySet implements KeySetHandle {
  private set: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private attemptedAt = -Infinity;
  private inflight: Promise<JWTVerifyGetKey | undefined> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly uri: string,
    private readonly timeoutMs: number,
    private readonly http: () => Promise<JwksHttp>,
    private readonly opts: JwksCacheOptions,
    private readonly stats: { fetches: number; fetchFailures: number },
    private readonly discovery: boolean,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The `jwks_uri` found by discovery; asked again after a failed fetch (the issuer may move it). */
  private jwksUri: string | undefined;

  current(): JWTVerifyGetKey | undefined {
    if (!this.set) return undefined;
    const age = this.now() - this.fetchedAt;
    if (age < (this.opts.refreshMs ?? DEFAULT_JWKS_REFRESH_MS)) return this.set;
    if (age < (this.opts.maxStaleMs ?? DEFAULT_JWKS_MAX_STALE_MS)) {
      // Due for refresh but still usable: refresh in the background, so no request waits on the
      // JWKS server; if the refresh fails, this set keeps serving (stale-on-error) until maxStale.
      void this.fetchOnce();
      return this.set;
    }
    return undefined;
  }

  async get(): Promise<JWTVerifyGetKey> {
    const usable = this.current();
    if (usable) return usable;
    const fresh = await this.fetchOnce();
    if (fresh) return fresh;
    throw new Error(`JWKS ${this.uri} could not be fetched`);
  }

  async refreshForUnknownKid(): Promise<JWTVerifyGetKey | undefined> {
    if (this.now() - this.attemptedAt < (this.opts.unknownKidCooldownMs ?? DEFAULT_UNKNOWN_KID_COOLDOWN_MS)) {
      return this.inflight ? this.inflight : undefined;
    }
    return this.fetchOnce();
  }

  /** One fetch at a time; concurrent callers share it. */
  private fetchOnce(): Promise<JWTVerifyGetKey | undefined> {
    if (!this.inflight) {
      this.attemptedAt = this.now();
      this.inflight = this.fetch().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async fetch(): Promise<JWTVerifyGetKey | undefined> {
    this.stats.fetches++;
    try {
      const uri = this.discovery ? (this.jwksUri ??= await this.discover()) : this.uri;
      const doc = await this.getJson(uri);
      if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
        throw new Error('JWKS response is not a key set');
      }
      this.set = createLocalJWKSet(doc as JSONWebKeySet);
      this.fetchedAt = this.now();
      return this.set;
    } catch {
      this.stats.fetchFailures++;
      this.jwksUri = undefined;
      return undefined;
    }
  }

  /** OpenID Connect Discovery 1.0 §4: the configuration document's `jwks_uri`. */
  private async discover(): Promise<string> {
    const doc = await this.getJson(this.uri);
    const jwksUri = typeof doc === 'object' && doc !== null ? (doc as { jwks_uri?: unknown }).jwks_uri : undefined;
    if (typeof jwksUri !== 'string') throw new Error('OpenID configuration has no jwks_uri');
    const url = new URL(jwksUri);
    const loopback = url.hostname === 'localhost' || url.hostname.startsWith('127.') || url.hostname === '[::1]';
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new Error('jwks_uri must be https');
    return url.href;
  }

  /** One bounded GET of a JSON document (size and time limited). */
  private async getJson(uri: string): Promise<unknown> {
    const { agent, request } = await this.http();
    const res = await request(uri, {
      dispatcher: agent,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json' },
    });
    const max = this.opts.maxBytes ?? DEFAULT_MAX_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > max) throw new Error(`${uri}: document larger than ${max} bytes`);
      chunks.push(b);
    }
    if (res.statusCode !== 200) throw new Error(`${uri} answered ${res.statusCode}`);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  }
}
