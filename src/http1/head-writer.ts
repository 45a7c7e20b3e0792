/**
 * Serialises an HTTP/1.1 response head for the downstream side and decides its body framing
 * (RFC 9112 §6.3): no body for HEAD, 1xx, 204 and 304; the given Content-Length; else chunked for
 * an HTTP/1.1 client, or until close for an HTTP/1.0 one. The codec owns `connection` and
 * `transfer-encoding`: the caller's fields come without hop-by-hop ones (proxy-headers.ts).
 *
 * Every name must be a token and every value free of CR, LF, NUL and other controls (what
 * Node's `writeHead` refused before): an unwritable head returns undefined and nothing is sent,
 * so a hostile upstream value can never split the response.
 */
const { STATUS_CODES } = process.getBuiltinModule('node:http');
import { TCHAR, isFieldByte } from './fields.js';

export const enum BodyFraming {
  None,
  Length,
  Chunked,
  UntilClose,
}

export interface ResponseHeadOut {
  readonly text: string;
  readonly framing: BodyFraming;
  /** The connection closes after this response. */
  readonly close: boolean;
}

/** What the head needs to know about the request it answers. */
export interface AnsweredRequest {
  readonly method: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: number;
}

const STATUS_LINES: string[] = [];
function statusLine(status: number): string {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    if (status >= 100 && status <= 999) STATUS_LINES[status] = line;
  }
  return line;
}

let dateSecond = 0;
let dateLine = '';
/** `date: ...\r\n`, rebuilt at most once a second (Node's server adds it too). */
function currentDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !isFieldByte(c)) return false;
  }
  return true;
}

/**
 * The head of a response to `req`; `close` adds `connection: close`; `bodyLength`, for a
 * response whose whole body is known, is its Content-Length when the fields carry none (as
 * Node's `end(body)` did). Undefined when a field cannot be written (invalid name or value, a
 * Content-Length that is not a number).
 */
export function responseHead(status: number, headers: readonly string[], req: AnsweredRequest, close: boolean, bodyLength = -1): ResponseHeadOut | undefined {
  let text = statusLine(status);
  let length = -1;
  let date = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (!isToken(name) || !isFieldValue(value)) return undefined;
    if (name.length === 14 && name === 'content-length') {
      const n = Number(value);
      if (value.length === 0 || !Number.isSafeInteger(n) || n < 0 || (length >= 0 && n !== length)) return undefined;
      if (length >= 0) continue;
      length = n;
    } else if (name.length === 4 && name === 'date') date = true;
    text += `${name}: ${value}\r\n`;
  }
  if (!date) text += currentDate();
  if (length < 0 && bodyLength >= 0 && status >= 200 && status !== 204 && status !== 304) {
    length = bodyLength;
    text += `content-length: ${length}\r\n`;
  }
  let framing: BodyFraming;
  if (req.method === 'HEAD' || status < 200 || status === 204 || status === 304) framing = BodyFraming.None;
  else if (length >= 0) framing = BodyFraming.Length;
  else if (req.minor === 1) {
    framing = BodyFraming.Chunked;
    text += 'transfer-encoding: chunked\r\n';
  } else {
    framing = BodyFraming.UntilClose;
    close = true;
  }
  if (close) text += 'connection: close\r\n';
  else if (req.minor === 0) text += 'connection: keep-alive\r\n';
  return { text: `${text}\r\n`, framing, close };
}

/** `100 Continue`, sent before reading a body whose client asked for it. */
export const CONTINUE_HEAD = 'HTTP/1.1 100 Continue\r\n\r\n';

/** The size line of a chunk of `n` bytes (n > 0). */
export function chunkPrefix(n: number): string {
  return `${n.toString(16)}\r\n`;
}

export const CRLF = '\r\n';
/** The last chunk and an empty trailer section (HTTP/1 trailers are dropped, as Envoy does). */
export const LAST_CHUNK = '0\r\n\r\n';
