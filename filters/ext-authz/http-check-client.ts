/**
 * ext_authz over plain HTTP (MeshConfig `envoyExtAuthzHttp`, Envoy's `http_service`): the check is
 * an HTTP/1.1 request to the authorization service carrying the original method, `pathPrefix` +
 * the original path, the original host, the headers named by `includeRequestHeadersInCheck`, the
 * `includeAdditionalHeadersInCheck` headers, and the buffered body when configured (else an empty
 * body with `content-length: 0`).
 *
 * The answer (Envoy's `ext_authz_http_impl`): 200 allows, copying the response headers named by
 * `headersToUpstreamOnAllow` onto the upstream request; a 5xx, a connection failure or the timeout
 * is an error; any other status denies, and the downstream gets that status, the body, and the
 * headers named by `headersToDownstreamOnDeny` (all but hop-by-hop ones when unset).
 */
import { Pool } from 'undici';
import type { StringMatch } from '../../src/filter/authz-config.js';
import type { ExtAuthzHttpProvider } from '../../src/filter/ext-authz-config.js';
import type { CheckClient, CheckDecision, CheckInput, HeaderToAdd } from './check-client.js';
import { PARTIAL_BODY_HEADER } from './check-client.js';
import { stringMatches } from '../authz/policy-matcher.js';

/** Response headers never copied from the check response to the client or upstream. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection', 'te', 'trailer']);
/** Request headers the check always carries (set from the request, not copied). */
const ALWAYS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'expect', 'te', 'upgrade']);

export class HttpCheckClient implements CheckClient {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly provider: ExtAuthzHttpProvider) {}

  async check(input: CheckInput): Promise<CheckDecision> {
    const p = this.provider;
    const ctx = input.ctx;
    const headers: Record<string, string> = {};
    if (p.includeRequestHeaders.length > 0) {
      for (const [name, value] of ctx.headers) {
        if (ALWAYS.has(name) || !p.includeRequestHeaders.some((m) => stringMatches(m, name))) continue;
        headers[name] = typeof value === 'string' ? value : value.join(',');
      }
    }
    for (const [name, value] of Object.entries(p.additionalHeaders)) headers[name] = value;
    headers['host'] = ctx.authority;
    const body = input.body?.data;
    if (input.body && !input.body.complete) headers[PARTIAL_BODY_HEADER] = 'true';
    headers['content-length'] = String(body?.length ?? 0);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), p.timeoutMs);
    try {
      const res = await this.poolFor(input.address).request({
        method: ctx.method,
        path: p.pathPrefix + ctx.path,
        headers,
        body: body && body.length > 0 ? body : null,
        signal: controller.signal,
      });
      const text = await res.body.text();
      if (res.statusCode >= 500) return { kind: 'error', reason: `authorization service answered ${res.statusCode}` };
      const pairs = responsePairs(res.headers);
      if (res.statusCode === 200) {
        const add: HeaderToAdd[] = [];
        for (const [name, value] of pairs) if (matchesAny(p.headersToUpstreamOnAllow, name)) add.push({ name, value, append: false });
        return { kind: 'ok', headers: add, remove: [] };
      }
      const deny = p.headersToDownstreamOnDeny;
      return { kind: 'denied', status: res.statusCode, headers: pairs.filter(([n]) => (deny ? matchesAny(deny, n) : true)), body: text };
    } catch (err) {
      return { kind: 'error', reason: controller.signal.aborted ? `no answer within ${p.timeoutMs}ms` : err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  private poolFor(address: string): Pool {
    let pool = this.pools.get(address);
    if (!pool) {
      pool = new Pool(`http://${address}`, { connections: 16, connectTimeout: Math.min(this.provider.timeoutMs, 10_000) });
      this.pools.set(address, pool);
    }
    return pool;
  }
}

function matchesAny(list: readonly StringMatch[], name: string): boolean {
  return list.some((m) => stringMatches(m, name));
}

function responsePairs(headers: Record<string, string | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, v] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (v === undefined || HOP_BY_HOP.has(n)) continue;
    if (typeof v === 'string') out.push([n, v]);
    else for (const x of v) out.push([n, x]);
  }
  return out;
}
