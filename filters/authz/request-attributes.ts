/**
 * The request attributes policies match on, read from the request context on first use and then
 * kept for the rest of the evaluation (one object per request that reaches authorization).
 *
 * Identity comes only from what cannot be forged by the client: the peer certificate's SPIFFE ID
 * (`source.principal`, and `source.namespace` derived from it, as Istio does), the connection's
 * peer address (`source.ip`; `remote.ip` is the same because no proxy hop is trusted — Istio's
 * default `numTrustedProxies: 0`), and the JWT verified by the authentication filter.
 */
import type { RequestContext } from '../../src/filter/api.js';
import type { RequestAuth } from '../../src/filter/request-auth.js';
import { requestAuthOf } from '../../src/filter/request-auth.js';

const SPIFFE = 'spiffe://';
const UNSET = Symbol('unset');

export class RequestAttributes {
  private pathValue: string | undefined;
  private hostValue: string | undefined;
  private principalValue: string | undefined | typeof UNSET = UNSET;
  private namespaceValue: string | undefined | typeof UNSET = UNSET;
  private authValue: RequestAuth | undefined | typeof UNSET = UNSET;

  constructor(readonly ctx: RequestContext) {}

  /** The path without query or fragment (normalized before the filter chain). */
  get path(): string {
    if (this.pathValue === undefined) {
      const p = this.ctx.path;
      let end = p.length;
      const q = p.indexOf('?');
      if (q >= 0) end = q;
      const h = p.indexOf('#');
      if (h >= 0 && h < end) end = h;
      this.pathValue = p.slice(0, end);
    }
    return this.pathValue;
  }

  /** `:authority`, lowercase. */
  get host(): string {
    return (this.hostValue ??= this.ctx.authority.toLowerCase());
  }

  get method(): string {
    return this.ctx.method;
  }

  /** The peer's identity without `spiffe://`, as Istio's `principals` are written. */
  get principal(): string | undefined {
    if (this.principalValue === UNSET) {
      const p = this.ctx.source.principal;
      this.principalValue = p === undefined ? undefined : p.startsWith(SPIFFE) ? p.slice(SPIFFE.length) : p;
    }
    return this.principalValue;
  }

  /** The trust domain of the peer's identity: what precedes the first `/` (`cluster.local`). */
  get trustDomain(): string | undefined {
    const p = this.principal;
    if (p === undefined) return undefined;
    const slash = p.indexOf('/');
    return slash <= 0 ? undefined : p.slice(0, slash);
  }

  /** The namespace of the peer's identity (`…/ns/<ns>/sa/…`). */
  get sourceNamespace(): string | undefined {
    if (this.namespaceValue === UNSET) {
      const p = this.principal;
      let ns: string | undefined;
      if (p !== undefined) {
        const i = p.indexOf('/ns/');
        if (i >= 0) {
          const start = i + 4;
          const end = p.indexOf('/', start);
          ns = end < 0 ? undefined : p.slice(start, end);
        }
      }
      this.namespaceValue = ns;
    }
    return this.namespaceValue;
  }

  get sourceIp(): string {
    return this.ctx.source.address;
  }

  /** The destination address the client asked for: the CONNECT target's IP (the service VIP). */
  get destinationIp(): string | undefined {
    const a = this.ctx.destination.connectAuthority;
    if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
    const colon = a.lastIndexOf(':');
    return colon < 0 ? a : a.slice(0, colon);
  }

  get destinationPort(): number {
    return this.ctx.destination.port;
  }

  get auth(): RequestAuth | undefined {
    if (this.authValue === UNSET) this.authValue = requestAuthOf(this.ctx.streamInfo);
    return this.authValue;
  }

  /**
   * Repeated fields joined with `,` (no space), as Istio documents and Envoy's RBAC matches.
   * Pseudo-headers are request fields in Envoy's header map, so `request.headers[:authority]`
   * (`:method`, `:path`, `:scheme`) matches them rather than never matching (which would let a
   * DENY on them pass everything). `host` is `:authority`, as in Envoy.
   */
  header(name: string): string | undefined {
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      switch (name) {
        case ':authority':
          return this.ctx.authority;
        case ':method':
          return this.ctx.method;
        case ':path':
          return this.ctx.path;
        case ':scheme':
          return this.ctx.scheme;
        default:
          return undefined;
      }
    }
    // Envoy's request header map stores Host as `:authority` and maps every lookup of `host` to
    // it (HeaderMapImpl's StaticLookupTable, "legacy host header"): `request.headers[host]` is the
    // authority on HTTP/2 too, where a client could otherwise send a `host` that differs from it.
    if (name === 'host') return this.ctx.authority;
    return this.ctx.headers.joined(name);
  }
}
