/**
 * The CONNECT `:authority` of HBONE: `ip:port`, `[v6]:port` or `host:port` (ztunnel's
 * `HboneAddress`: a socket address first, else a host name and port). Parsed on every stream, so
 * it is a character walk with no regex or allocation beyond the result.
 */
const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
import type { HboneAuthority } from './types.js';

const MAX_HOST_LENGTH = 253;

/** Parses `text`; `undefined` when it is not a valid HBONE target (the server answers 400). */
export function parseAuthority(text: string | undefined): HboneAuthority | undefined {
  if (text === undefined || text.length === 0 || text.length > MAX_HOST_LENGTH + 8) return undefined;
  let host: string;
  let portText: string;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close < 0 || text.charCodeAt(close + 1) !== 0x3a /* : */) return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    // Zone ids ("%eth0") name a local interface; meaningless across the mesh.
    if (!isIPv6(host) || host.includes('%')) return undefined;
    const port = parsePort(portText);
    return port === undefined ? undefined : { host, port, isIp: true, text };
  }
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  host = text.slice(0, colon);
  portText = text.slice(colon + 1);
  const port = parsePort(portText);
  if (port === undefined) return undefined;
  if (isIPv4(host)) return { host, port, isIp: true, text };
  // An unbracketed v6 address, or an IPv4 look-alike Node rejected (leading zeros, 256...).
  if (host.includes(':') || looksNumeric(host)) return undefined;
  if (!isHostName(host)) return undefined;
  return { host, port, isIp: false, text };
}

/** `host:port`, bracketing IPv6 addresses. */
export function formatAuthority(host: string, port: number): string {
  // Called per request (endpoint keys, records): only a string with ':' can be IPv6, so names and
  // IPv4 skip the validating regex.
  return host.includes(':') && isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Decimal 1..65535 (leading zeros tolerated, as Rust's u16 parser does); no sign, no spaces. */
function parsePort(text: string): number | undefined {
  if (text.length === 0 || text.length > 5) return undefined;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n >= 1 && n <= 65535 ? n : undefined;
}

function looksNumeric(host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c !== 0x2e && (c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1..63 each. */
function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOST_LENGTH) return false;
  let labelLen = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (labelLen === 0 || host.charCodeAt(i - 1) === 0x2d) return false;
      labelLen = 0;
      continue;
    }
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && !(c === 0x2d /* - */ && labelLen > 0)) return false;
    if (++labelLen > 63) return false;
  }
  // No empty last label (a trailing dot is not accepted in an authority) and no trailing hyphen.
  return labelLen > 0 && host.charCodeAt(host.length - 1) !== 0x2d;
}
