/**
 * Fuzz target for the HTTP/1.1 codec (src/http1/): mutated requests and responses. Properties:
 * a refusal is always a coded {@link Http1ParseError} (never another throw); the outcome does
 * not depend on how the bytes were split; what is accepted is well-formed (token method and
 * names, lowercase names, no CR/LF/NUL in values) and parses back the same once re-serialised.
 */
import { Http1ParseError } from '../../src/http1/parse-error.js';
import { ResponseParser } from '../../src/http1/response-parser.js';
import { parseRequests, type ParseOutcome } from '../helpers/http1-parse-requests.js';
import type { FuzzTarget } from './fuzz-targets.js';
import type { Mutator } from './mutator.js';

export const REQUEST_SEEDS: readonly string[] = [
  'GET / HTTP/1.1\r\nHost: reviews\r\n\r\n',
  'GET /a?b=c HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: r\r\nContent-Length: 5\r\n\r\nhello',
  'POST /c HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
  'PUT /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc',
  'OPTIONS * HTTP/1.1\r\nHost: r\r\n\r\n',
  'FOO /ext HTTP/1.1\r\nHost: r\r\n\r\n',
  'GET http://r/abs HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n',
  'GET /1 HTTP/1.1\r\nHost: r\r\n\r\nGET /2 HTTP/1.1\r\nHost: r\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n',
  'POST /e HTTP/1.1\r\nHost: r\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok',
];

const RESPONSE_SEEDS: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nGrpc-Status: 0\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n',
  'HTTP/1.0 200 OK\r\nX-A: folded\r\n  more\r\n\r\nuntil close',
];

function describeOutcome(o: ParseOutcome): string {
  return JSON.stringify({
    v: o.verdict,
    r: o.requests.map((r) => [r.method, r.target, r.minor, r.headers, r.keepAlive, r.body.toString('latin1'), r.trailers, r.complete]),
  });
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkAccepted(o: ParseOutcome): string | undefined {
  for (const r of o.requests) {
    if (!TOKEN.test(r.method)) return `method ${JSON.stringify(r.method)} accepted`;
    if (r.target.length === 0 || [...r.target].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) >= 0x7f)) return `target ${JSON.stringify(r.target)} accepted`;
    for (let i = 0; i < r.headers.length; i += 2) {
      const name = r.headers[i] as string;
      const value = r.headers[i + 1] as string;
      if (!TOKEN.test(name) || name !== name.toLowerCase()) return `header name ${JSON.stringify(name)} accepted`;
      if (/[\r\n\0]/.test(value) || /^[ \t]|[ \t]$/.test(value)) return `header value ${JSON.stringify(value)} accepted`;
    }
    if (!r.complete) continue;
    const cl = r.headers.indexOf('content-length');
    if (cl >= 0 && cl % 2 === 0 && Number(r.headers[cl + 1]) !== r.body.length) return 'body length differs from Content-Length';
  }
  return undefined;
}

/** Re-serialises complete requests and parses them again: the same requests must come back. */
function roundTrip(o: ParseOutcome): string | undefined {
  const complete = o.requests.filter((r) => r.complete);
  if (complete.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const r of complete) {
    let head = `${r.method} ${r.target} HTTP/1.${r.minor}\r\n`;
    const chunked = r.headers.some((h, i) => i % 2 === 0 && h === 'transfer-encoding');
    for (let i = 0; i < r.headers.length; i += 2) head += `${r.headers[i] as string}: ${r.headers[i + 1] as string}\r\n`;
    parts.push(Buffer.from(`${head}\r\n`, 'latin1'));
    if (chunked) {
      if (r.body.length > 0) parts.push(Buffer.from(`${r.body.length.toString(16)}\r\n`), r.body, Buffer.from('\r\n'));
      let t = '0\r\n';
      for (let i = 0; r.trailers && i < r.trailers.length; i += 2) t += `${r.trailers[i] as string}: ${r.trailers[i + 1] as string}\r\n`;
      parts.push(Buffer.from(`${t}\r\n`, 'latin1'));
    } else parts.push(r.body);
  }
  const again = parseRequests([Buffer.concat(parts)]);
  const want = describeOutcome({ requests: complete, verdict: 'ok' });
  const got = describeOutcome(again);
  return want === got ? undefined : `re-serialised requests parse differently: ${got.slice(0, 300)}`;
}

function requestCase(m: Mutator): { input: string; problem: string | undefined } {
  const seed = Buffer.from(m.pick(REQUEST_SEEDS), 'latin1');
  const input = m.chance(0.15) ? seed : m.mutate(seed);
  const text = input.toString('latin1');
  try {
    const whole = parseRequests([input]);
    const split = parseRequests(m.chunks(input));
    if (describeOutcome(whole) !== describeOutcome(split)) return { input: text, problem: 'outcome depends on chunk boundaries' };
    return { input: text, problem: checkAccepted(whole) ?? roundTrip(whole) };
  } catch (err) {
    return { input: text, problem: `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
  }
}

function parseResponse(chunks: readonly Buffer[]): string {
  const events: unknown[] = [];
  const p = new ResponseParser(
    {
      onResponseHead: (status, headers) => (events.push(['head', status, headers]), true),
      onResponseBody: (chunk) => (events.push(['body', chunk.toString('latin1')]), true),
      onResponseEnd: (trailers) => void events.push(['end', trailers]),
    },
    16 * 1024,
  );
  p.reset(false);
  try {
    for (const c of chunks) {
      let pos = 0;
      while (pos < c.length && !p.done) pos = p.execute(c, pos);
    }
    if (!p.done) p.finishAtEof();
  } catch (err) {
    if (!(err instanceof Http1ParseError)) throw err;
    events.push(['error', err.status]);
  }
  // Body slices may be split differently: compare the bytes, not the slices.
  const merged: unknown[] = [];
  for (const e of events) {
    const last = merged[merged.length - 1] as unknown[] | undefined;
    if ((e as unknown[])[0] === 'body' && last?.[0] === 'body') last[1] = `${last[1] as string}${(e as unknown[])[1] as string}`;
    else merged.push(e);
  }
  return JSON.stringify(merged);
}

function responseCase(m: Mutator): { input: string; problem: string | undefined } {
  const input = m.mutate(Buffer.from(m.pick(RESPONSE_SEEDS), 'latin1'));
  const text = input.toString('latin1');
  try {
    const whole = parseResponse([input]);
    const split = parseResponse(m.chunks(input));
    return { input: text, problem: whole === split ? undefined : 'response outcome depends on chunk boundaries' };
  } catch (err) {
    return { input: text, problem: `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` };
  }
}

export const http1CodecTarget: FuzzTarget = {
  name: 'http1-codec',
  one(m) {
    return m.chance(0.75) ? requestCase(m) : responseCase(m);
  },
};
