/**
 * Protocol sniffing for service ports of unknown protocol (Envoy's `http_inspector`): looks at
 * the first bytes a client sends and says HTTP/1.x (a request line `METHOD SP target SP HTTP/1.d`),
 * HTTP/2 prior knowledge (the connection preface), or TCP (anything else, or nothing within the
 * timeout: a server-first protocol must not stall forever).
 *
 * Also used on declared HTTP ports to choose between the HTTP/1.1 and HTTP/2 codecs (Envoy's
 * codec `AUTO`), there bounded by the HTTP header-read timeout (slowloris).
 *
 * A byte scanner, not a regex: it runs once per connection on untrusted input and stops at a
 * fixed bound.
 */
import type { Duplex } from 'node:stream';
import { readPrefix } from '../net/prefix-reader.js';

export type SniffedProtocol = 'http1' | 'http2' | 'tcp';

/** The classification of a prefix: decided, or `more` bytes needed. */
export type PrefixClass = SniffedProtocol | 'more';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HTTP1_VERSION = Buffer.from('HTTP/1.', 'latin1');
const MAX_METHOD = 20;
/** Longest request line we wait for; a longer one is classified TCP (Envoy reads a bounded peek too). */
export const MAX_SNIFF_BYTES = 16 * 1024;
/** Istio's historical default `protocolDetectionTimeout`. */
export const DEFAULT_SNIFF_TIMEOUT_MS = 100;

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** Classifies the bytes seen so far. Pure; exported for tests. */
export function classifyPrefix(buf: Buffer): PrefixClass {
  if (buf.length === 0) return 'more';
  const h2 = matchPrefix(buf, H2_PREFACE, 0);
  if (h2 === 'all') return 'http2';
  if (h2 === 'partial') return 'more';
  return classifyRequestLine(buf);
}

function classifyRequestLine(buf: Buffer): PrefixClass {
  const n = buf.length;
  let i = 0;
  // Method: upper-case token characters (all registered methods are upper case).
  while (i < n && i <= MAX_METHOD) {
    const c = buf[i] as number;
    if ((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f) i++;
    else break;
  }
  if (i === n) return i > MAX_METHOD ? 'tcp' : 'more';
  if (i === 0 || i > MAX_METHOD || buf[i] !== SP) return 'tcp';
  i++;
  // Request target: visible ASCII, at least one byte.
  const targetStart = i;
  while (i < n) {
    const c = buf[i] as number;
    if (c > 0x20 && c < 0x7f) i++;
    else break;
  }
  if (i === n) return n >= MAX_SNIFF_BYTES ? 'tcp' : 'more';
  if (i === targetStart || buf[i] !== SP) return 'tcp';
  i++;
  const v = matchPrefix(buf, HTTP1_VERSION, i);
  if (v === 'no') return 'tcp';
  if (v === 'partial') return 'more';
  i += HTTP1_VERSION.length;
  if (i === n) return 'more';
  const d = buf[i] as number;
  if (d < 0x30 || d > 0x39) return 'tcp';
  i++;
  if (i === n) return 'more';
  // Line end: CRLF, or a bare LF as lenient parsers accept.
  if (buf[i] === LF) return 'http1';
  if (buf[i] !== CR) return 'tcp';
  i++;
  if (i === n) return 'more';
  return buf[i] === LF ? 'http1' : 'tcp';
}

/** Does `buf[from..]` start with `pattern` ('all'), end inside a match ('partial'), or differ? */
function matchPrefix(buf: Buffer, pattern: Buffer, from: number): 'all' | 'partial' | 'no' {
  const avail = buf.length - from;
  const len = Math.min(avail, pattern.length);
  for (let k = 0; k < len; k++) if (buf[from + k] !== pattern[k]) return 'no';
  return avail >= pattern.length ? 'all' : 'partial';
}

export interface SniffOptions {
  /** Give up (→ `tcp`) after this long without a decision. `undefined`: wait for bytes. */
  readonly timeoutMs?: number;
}

export interface SniffOutcome {
  readonly protocol: SniffedProtocol;
  /**
   * Set only when the stream's readable side ended before a decision: the bytes read could not be
   * put back (Node forbids `unshift` after `end`), so the consumer must forward them itself.
   */
  readonly endedWith?: Buffer;
}

/**
 * Reads from `stream` until the protocol is known, then puts every byte read back
 * (`unshift`). The stream is left **paused**: the consumer attaches its listeners and calls
 * `resume()`. A stream that ends, fails or times out before a decision is classified `tcp`.
 */
export async function sniffStream(stream: Duplex, opts: SniffOptions = {}): Promise<SniffOutcome> {
  const r = await readPrefix<SniffedProtocol>(stream, { classify: classifyPrefix, fallback: 'tcp', maxBytes: MAX_SNIFF_BYTES, timeoutMs: opts.timeoutMs });
  return r.endedWith ? { protocol: r.value, endedWith: r.endedWith } : { protocol: r.value };
}
