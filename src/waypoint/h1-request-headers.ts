/**
 * The header map of a downstream HTTP/1.1 request, built from the parser's name/value pairs with
 * the same rules Node's HTTP server applied before the waypoint had its own codec (so filters,
 * routes and policies see what they saw): repeated fields are joined with `, `, `cookie` with
 * `; `, `set-cookie` kept as a list, and for fields that cannot be lists (content-type,
 * authorization, user-agent...) the first line wins.
 */
import { HeaderMap } from '../filter/header-map.js';

const FIRST_WINS: ReadonlySet<string> = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** `pairs`: lowercase names and values, in order. */
export function requestHeaderMap(pairs: readonly string[]): HeaderMap {
  const map = new HeaderMap();
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i] as string;
    const value = pairs[i + 1] as string;
    const prev = map.first(name);
    if (prev === undefined) {
      map.set(name, value);
      continue;
    }
    if (name === 'set-cookie') map.append(name, value);
    else if (name === 'cookie') map.set(name, `${prev}; ${value}`);
    else if (!FIRST_WINS.has(name)) map.set(name, `${prev}, ${value}`);
  }
  return map;
}
