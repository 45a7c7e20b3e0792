/**
 * Path and authority changes a route makes: `URLRewrite` / VirtualService `rewrite` applied to the
 * request before it goes upstream, and `RequestRedirect` / VirtualService `redirect` answered
 * with a `Location`. Compiled per route entry (the matched prefix is known then), applied per
 * request with string operations only.
 */
import type { RE2JS } from 're2js';
import type { PathMatchIR, PathModifierIR, RedirectIR, RewriteIR } from '../config/ir-routes.js';
import type { LocalReply, RequestContext } from '../filter/api.js';
import { compileRegex } from './compile-regex.js';
import { stripTrailingSlashes } from './route-match.js';

/**
 * Gateway API `ReplacePrefixMatch`, segment aware: `/foo` matched on `/foo/bar` with `/xyz` (or
 * `/xyz/`) gives `/xyz/bar`; `/foo` on `/foo` with `/` gives `/`. Trailing slashes of both the
 * matched prefix and the replacement are ignored; an empty result is `/`.
 */
export function replacePrefixMatch(pathOnly: string, matchedPrefix: string, replacement: string): string {
  const prefix = stripTrailingSlashes(matchedPrefix);
  const rest = pathOnly.slice(prefix.length);
  const out = stripTrailingSlashes(replacement) + rest;
  return out === '' ? '/' : out.startsWith('/') ? out : `/${out}`;
}

/** A path modifier bound to the match it belongs to. */
export class PathModifier {
  private readonly re: RE2JS | undefined;
  /** RE2 `\1` substitutions, as Envoy's regex_rewrite, respelled once as re2js's `$1`. */
  private readonly substitution: string;

  constructor(
    private readonly m: PathModifierIR,
    /** The match's path, for prefix replacement. */
    private readonly matched: PathMatchIR | undefined,
  ) {
    this.re = m.kind === 'regex' ? compileRegex(m.regex) : undefined;
    this.substitution = m.kind === 'regex' ? m.substitution.replace(/\\(\d)/g, '$$$1') : '';
  }

  /** The new path (query kept as it was). */
  apply(path: string): string {
    const q = path.indexOf('?');
    const pathOnly = q < 0 ? path : path.slice(0, q);
    const query = q < 0 ? '' : path.slice(q);
    return this.newPath(pathOnly) + query;
  }

  private newPath(pathOnly: string): string {
    const m = this.m;
    switch (m.kind) {
      case 'full':
        return m.value;
      case 'prefix':
        return this.matched?.kind === 'prefix' ? replacePrefixMatch(pathOnly, this.matched.value, m.value) : m.value;
      case 'rawPrefix': {
        // Istio's `rewrite.uri`: replaces the matched prefix; for exact/regex matches, the whole path.
        const p = this.matched;
        if (p?.kind === 'rawPrefix' || p?.kind === 'prefix') {
          const len = p.ignoreCase || pathOnly.startsWith(p.value) ? p.value.length : 0;
          return m.value + pathOnly.slice(len);
        }
        return m.value;
      }
      case 'regex':
        return (this.re as RE2JS).matcher(pathOnly).replaceAll(this.substitution);
    }
  }
}

/** `URLRewrite`: authority and path; Envoy records the original path in `x-envoy-original-path`. */
export class RequestRewriter {
  private readonly path: PathModifier | undefined;

  constructor(private readonly rw: RewriteIR, matched: PathMatchIR | undefined) {
    this.path = rw.path ? new PathModifier(rw.path, matched) : undefined;
  }

  apply(ctx: RequestContext): void {
    if (this.rw.hostname !== undefined) ctx.authority = this.rw.hostname;
    if (this.path) {
      const next = this.path.apply(ctx.path);
      if (next !== ctx.path) {
        ctx.headers.set('x-envoy-original-path', ctx.path);
        ctx.path = next;
      }
    }
  }
}

const DEFAULT_PORT: Readonly<Record<'http' | 'https', number>> = { http: 80, https: 443 };

/**
 * `RequestRedirect`. Port, as Istio configures Envoy: the filter's port; else, when the scheme
 * changes, that scheme's default port (Istio `FROM_PROTOCOL_DEFAULT`); else the request's port
 * (`FROM_REQUEST_PORT`). A scheme's default port is left out of `Location`.
 */
export class Redirector {
  private readonly path: PathModifier | undefined;

  constructor(private readonly rd: RedirectIR, matched: PathMatchIR | undefined) {
    this.path = rd.path ? new PathModifier(rd.path, matched) : undefined;
  }

  reply(ctx: RequestContext): LocalReply {
    const rd = this.rd;
    const scheme = rd.scheme ?? ctx.scheme;
    const { host, port: requestPort } = splitAuthority(ctx.authority);
    const hostname = rd.hostname ?? host;
    const port = rd.port ?? (rd.scheme !== undefined ? DEFAULT_PORT[rd.scheme] : requestPort);
    const portPart = port === undefined || port === DEFAULT_PORT[scheme] ? '' : `:${port}`;
    const path = this.path ? this.path.apply(ctx.path) : ctx.path;
    return { status: rd.statusCode, headers: { location: `${scheme}://${hostname}${portPart}${path}` }, details: 'direct_response' };
  }
}

/** `host:port`, `[v6]:port` or a bare host. */
export function splitAuthority(authority: string): { host: string; port: number | undefined } {
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close && colon > 0) {
    const port = Number(authority.slice(colon + 1));
    if (Number.isInteger(port) && port > 0 && port < 65536) return { host: authority.slice(0, colon), port };
  }
  return { host: authority, port: undefined };
}
