/**
 * CIDR parsing and matching. Policies are parsed once at config time into a {@link CidrIR} (masked
 * network bytes), so the data path only compares bytes.
 */
const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
import type { CidrIR } from '../config/ir.js';

/**
 * Parses `a.b.c.d/n`, `v6/n`, or a bare address (a host route: /32 or /128).
 * Returns `undefined` for anything malformed (the translator turns that into a diagnostic).
 * Host bits set below the prefix are masked off, as Istio accepts `10.0.0.1/8` as `10.0.0.0/8`.
 */
export function parseCidr(text: string): CidrIR | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addrText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(addrText);
  if (!bytes) return undefined;
  const family: 4 | 6 = bytes.length === 4 ? 4 : 6;
  const maxLen = bytes.length * 8;
  let prefixLength = maxLen;
  if (slash >= 0) {
    const lenText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    prefixLength = Number(lenText);
    if (prefixLength > maxLen) return undefined;
  }
  const network = maskBytes(bytes, prefixLength);
  return Object.freeze({ text: trimmed, family, network, prefixLength });
}

/**
 * True when `ip` lies inside `cidr`. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, which Node
 * reports for v4 peers on dual-stack sockets) is compared as the IPv4 address it carries.
 * Unparsable input never matches.
 */
export function cidrContains(cidr: CidrIR, ip: string): boolean {
  let bytes = parseIp(ip);
  if (!bytes) return false;
  if (cidr.family === 4 && bytes.length === 16 && isV4Mapped(bytes)) bytes = bytes.subarray(12);
  if (bytes.length !== cidr.network.length) return false;
  const full = cidr.prefixLength >> 3;
  for (let i = 0; i < full; i++) if (bytes[i] !== cidr.network[i]) return false;
  const rem = cidr.prefixLength & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((bytes[full] ?? 0) & mask) === cidr.network[full];
}

/** Address bytes (4 or 16) of a textual IPv4/IPv6 address, or `undefined`. Zone ids are rejected. */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return parseV4(text);
  if (isIPv6(text) && !text.includes('%')) return parseV6(text);
  return undefined;
}

function parseV4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

/** Expects text that `isIPv6` already accepted, so only the layout needs handling here. */
function parseV6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  // An embedded dotted quad takes the last 4 bytes; replace it by two hex groups first.
  let s = text;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    s = `${s.slice(0, lastColon + 1)}${(((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16)}:${(((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16)}`;
  }
  const dbl = s.indexOf('::');
  const head = dbl < 0 ? s : s.slice(0, dbl);
  const rest = dbl < 0 ? '' : s.slice(dbl + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === '' ? [] : rest.split(':');
  const groups: string[] = [...headGroups];
  for (let i = headGroups.length + restGroups.length; i < 8; i++) groups.push('0');
  groups.push(...restGroups);
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16);
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function maskBytes(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, prefixLength - i * 8));
    const mask = bitsHere === 0 ? 0 : (0xff << (8 - bitsHere)) & 0xff;
    out[i] = (bytes[i] ?? 0) & mask;
  }
  return out;
}

/** Node reports IPv4 peers of dual-stack sockets as `::ffff:a.b.c.d`; the mesh keys by plain IPv4. */
export function unmapV4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
