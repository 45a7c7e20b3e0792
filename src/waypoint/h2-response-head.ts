/**
 * The response head of an inner HTTP/2 stream as Node's `respond()` takes it in raw form
 * (`[':status', status, name, value, ...]`), checked up front for everything Node would refuse.
 *
 * Why up front: {@link H2DownstreamExchange} sends the head one tick after `writeHead()` (so a
 * response that ends in the same turn goes out as one HEADERS [+ DATA] with END_STREAM, without
 * Node's wait-for-trailers round), yet `writeHead()` must still answer at once whether the head can
 * be written (the exchange answers 502 otherwise). So the checks Node's `respond()` makes are made
 * here: names that are not tokens, connection-specific fields (RFC 9113 §8.2.2), a repeated
 * single-value field (Node's `strictSingleValueFields`, on by default), a status out of 200..599;
 * plus values with CR, LF, NUL or other controls, which Node writes without complaint but an
 * HTTP/1 hop behind the client could split (RFC 9113 §8.2.1).
 *
 * The raw form also skips the header object the object form needs and Node's copy of it.
 */
import { isHeaderName, isHeaderValue } from '../config/from-k8s/header-field.js';

/** RFC 9113 §8.2.2 (and Node's `isIllegalConnectionSpecificHeader`); `te` only as `trailers`. */
const CONNECTION_SPECIFIC = new Set(['connection', 'upgrade', 'http2-settings', 'keep-alive', 'proxy-connection', 'transfer-encoding']);

/** Fields Node refuses to send twice in one head (its `kSingleValueFields`, pseudo-headers aside). */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

/** A field Node's HTTP/2 would refuse or a hop behind the client could misread. */
function writableField(name: string, value: string): boolean {
  if (!isHeaderName(name) || !isHeaderValue(value)) return false;
  if (CONNECTION_SPECIFIC.has(name)) return false;
  return name !== 'te' || value === 'trailers';
}

/**
 * `[':status', status, ...flat]` when Node's `respond()` will take it, else undefined. `flat` is
 * `[name, value, ...]` with lowercase names.
 */
export function responseHead(status: number, flat: readonly string[]): (string | number)[] | undefined {
  if (!Number.isInteger(status) || status < 200 || status > 599) return undefined;
  const out: (string | number)[] = [':status', status];
  let singles: string[] | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (!writableField(name, value)) return undefined;
    if (SINGLE_VALUE.has(name)) {
      if (singles === undefined) singles = [name];
      else if (singles.includes(name)) return undefined;
      else singles.push(name);
    }
    out.push(name, value);
  }
  return out;
}

/**
 * Trailers as `sendTrailers()` takes them (an object; repeated names become arrays), or
 * undefined when one is not writable (checked as for the head).
 */
export function trailerFields(flat: readonly string[]): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    const value = flat[i + 1] as string;
    if (!writableField(name, value)) return undefined;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (SINGLE_VALUE.has(name)) return undefined;
    else out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}
