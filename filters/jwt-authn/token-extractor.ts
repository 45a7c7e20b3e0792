/**
 * Where tokens are found (Envoy jwt_authn `from_headers`, `from_params`, `from_cookies`). The
 * locations of every provider are merged at config time into one list; each extracted token
 * remembers its location (to strip it later) and which providers may verify it.
 *
 * Envoy's default when a provider names no location: `Authorization: Bearer <token>`, then the
 * `access_token` query parameter.
 */
import type { RequestContext } from '../../src/filter/api.js';
import type { JwtProvider } from './jwt-provider.js';

export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

export interface LocationEntry {
  readonly location: TokenLocation;
  /** Indexes of the providers that read this location. */
  readonly providers: readonly number[];
}

export interface ExtractedToken {
  readonly token: string;
  readonly entry: LocationEntry;
}

const DEFAULT_LOCATIONS: readonly TokenLocation[] = [
  { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
  { kind: 'param', name: 'access_token' },
];

export function locationsOf(providers: readonly JwtProvider[]): LocationEntry[] {
  const byKey = new Map<string, { location: TokenLocation; providers: number[] }>();
  providers.forEach((p, i) => {
    const own: TokenLocation[] = [
      ...p.fromHeaders.map((h): TokenLocation => ({ kind: 'header', name: h.name, prefix: h.prefix })),
      ...p.fromParams.map((n): TokenLocation => ({ kind: 'param', name: n })),
      ...p.fromCookies.map((n): TokenLocation => ({ kind: 'cookie', name: n })),
    ];
    for (const loc of own.length > 0 ? own : DEFAULT_LOCATIONS) {
      const key = `${loc.kind}|${loc.name}|${loc.kind === 'header' ? loc.prefix : ''}`;
      let e = byKey.get(key);
      if (!e) byKey.set(key, (e = { location: loc, providers: [] }));
      if (!e.providers.includes(i)) e.providers.push(i);
    }
  });
  return [...byKey.values()];
}

/** Every token present in the request, in location order; duplicates (same token) once. */
export function extractTokens(ctx: RequestContext, entries: readonly LocationEntry[]): ExtractedToken[] {
  const out: ExtractedToken[] = [];
  let query: URLSearchParams | undefined;
  let cookies: Map<string, string> | undefined;
  for (const entry of entries) {
    const loc = entry.location;
    let token: string | undefined;
    switch (loc.kind) {
      case 'header':
        // Every line of the header carries a token of its own (Envoy's extractor reads each
        // value): a second `authorization` line is verified too, never ignored.
        for (const v of ctx.headers.getAll(loc.name)) {
          const t = headerToken(v, loc.prefix);
          if (t && !out.some((x) => x.token === t)) out.push({ token: t, entry });
        }
        break;
      case 'param': {
        const q = ctx.path.indexOf('?');
        if (q < 0) break;
        query ??= new URLSearchParams(ctx.path.slice(q + 1));
        token = query.get(loc.name) ?? undefined;
        break;
      }
      case 'cookie':
        cookies ??= parseCookies(ctx.headers.getAll('cookie'));
        token = cookies.get(loc.name);
        break;
    }
    if (token && !out.some((t) => t.token === token)) out.push({ token, entry });
  }
  return out;
}

/** Removes a token from where it was found (`forwardOriginalToken: false`). */
export function stripToken(ctx: RequestContext, loc: TokenLocation): void {
  switch (loc.kind) {
    case 'header':
      ctx.headers.delete(loc.name);
      return;
    case 'param':
    case 'cookie':
      // Envoy removes only header tokens; query and cookie tokens travel on, as in Envoy.
      return;
  }
}

/** The token in one header value, after its prefix; undefined when the prefix is not there. */
function headerToken(v: string, prefix: string): string | undefined {
  if (prefix === '') return v.trim() || undefined;
  // Envoy compares the `Bearer ` prefix case-insensitively (RFC 6750 scheme names are).
  if (v.length > prefix.length && v.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()) return v.slice(prefix.length).trim() || undefined;
  return undefined;
}

function parseCookies(lines: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of lines) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const name = part.slice(0, eq).trim();
      if (name && !m.has(name)) m.set(name, part.slice(eq + 1).trim());
    }
  }
  return m;
}
