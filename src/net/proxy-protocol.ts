/**
 * A strict parser for the PROXY protocol version 2 header (HAProxy's proxy-protocol.txt §2.2), the
 * binary preamble a capturing proxy writes before the relayed bytes to say where a connection
 * originally came from and went to. The ztunnel's plaintext inbound listener reads the original
 * destination from it, standing in for `SO_ORIGINAL_DST` on a host without iptables.
 *
 * Layout: 12-byte signature `\r\n\r\n\0\r\nQUIT\n`; version/command byte (version 2; command
 * LOCAL 0 or PROXY 1); family/transport byte (UNSPEC, INET, INET6, UNIX × UNSPEC, STREAM, DGRAM);
 * a big-endian 16-bit length of what follows; the addresses (INET 12 bytes, INET6 36, UNIX 216);
 * then TLVs (type, 16-bit length, value) filling the rest exactly.
 *
 * Strict: anything the spec does not define is an error with a stable {@link ProxyHeaderErrorCode},
 * detected as early as the bytes allow (a wrong signature byte fails without waiting for more).
 * Version 1 (text) headers are refused: only v2 is spoken here.
 */

export const PROXY_V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Signature, version/command, family, length. */
export const PROXY_V2_FIXED_BYTES = 16;

export type ProxyHeaderErrorCode =
  /** The first bytes are not the v2 signature (a v1 text header, or no header at all). */
  | 'BAD_SIGNATURE'
  /** The version nibble is not 2. */
  | 'BAD_VERSION'
  /** The command nibble is neither LOCAL (0) nor PROXY (1). */
  | 'BAD_COMMAND'
  /** The family/transport byte is not one the spec defines. */
  | 'BAD_FAMILY'
  /** The length is too short for the address block of the family. */
  | 'BAD_LENGTH'
  /** A TLV runs past the end of the header. */
  | 'BAD_TLV';

export type ProxyFamily = 'UNSPEC' | 'INET' | 'INET6' | 'UNIX';
export type ProxyTransport = 'UNSPEC' | 'STREAM' | 'DGRAM';

export interface ProxyTlv {
  readonly type: number;
  readonly value: Buffer;
}

export type ProxyAddresses =
  | { readonly family: 'INET' | 'INET6'; readonly sourceIp: string; readonly sourcePort: number; readonly destIp: string; readonly destPort: number }
  | { readonly family: 'UNIX'; readonly sourcePath: string; readonly destPath: string }
  | { readonly family: 'UNSPEC' };

export interface ProxyHeader {
  readonly command: 'LOCAL' | 'PROXY';
  readonly transport: ProxyTransport;
  readonly addresses: ProxyAddresses;
  readonly tlvs: readonly ProxyTlv[];
  /** Header bytes, all consumed: what follows is the relayed stream. */
  readonly length: number;
}

export type ProxyParse =
  | { readonly status: 'ok'; readonly header: ProxyHeader }
  /** Valid so far; `needed` is the total header length when known, else the fixed part's. */
  | { readonly status: 'incomplete'; readonly needed: number }
  | { readonly status: 'error'; readonly code: ProxyHeaderErrorCode; readonly message: string };

const FAMILIES: readonly (ProxyFamily | undefined)[] = ['UNSPEC', 'INET', 'INET6', 'UNIX'];
const TRANSPORTS: readonly (ProxyTransport | undefined)[] = ['UNSPEC', 'STREAM', 'DGRAM'];
const ADDRESS_BYTES: Readonly<Record<ProxyFamily, number>> = { UNSPEC: 0, INET: 12, INET6: 36, UNIX: 216 };

const err = (code: ProxyHeaderErrorCode, message: string): ProxyParse => ({ status: 'error', code, message });

/** Parses the header at the start of `buf` (which may hold more, or not yet all of it). */
export function parseProxyV2(buf: Buffer): ProxyParse {
  const sigBytes = Math.min(buf.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < sigBytes; i++) {
    if (buf[i] !== PROXY_V2_SIGNATURE[i]) return err('BAD_SIGNATURE', `byte ${i} is not the PROXY v2 signature`);
  }
  if (buf.length < PROXY_V2_FIXED_BYTES) {
    // Check what has arrived of the fixed part already.
    if (buf.length > 12) {
      const early = checkVerCmd(buf[12] as number);
      if (early) return early;
    }
    if (buf.length > 13) {
      const early = familyOf(buf[13] as number);
      if ('status' in early) return early;
    }
    return { status: 'incomplete', needed: PROXY_V2_FIXED_BYTES };
  }
  const verCmd = buf[12] as number;
  const bad = checkVerCmd(verCmd);
  if (bad) return bad;
  const fam = familyOf(buf[13] as number);
  if ('status' in fam) return fam;
  const len = buf.readUInt16BE(14);
  const addrBytes = ADDRESS_BYTES[fam.family];
  if (len < addrBytes) return err('BAD_LENGTH', `length ${len} is shorter than the ${fam.family} address block (${addrBytes} bytes)`);
  const total = PROXY_V2_FIXED_BYTES + len;
  if (buf.length < total) return { status: 'incomplete', needed: total };

  const body = buf.subarray(PROXY_V2_FIXED_BYTES, total);
  const tlvs: ProxyTlv[] = [];
  for (let at = addrBytes; at < body.length; ) {
    if (body.length - at < 3) return err('BAD_TLV', `truncated TLV at offset ${at}`);
    const type = body[at] as number;
    const vlen = body.readUInt16BE(at + 1);
    if (at + 3 + vlen > body.length) return err('BAD_TLV', `TLV 0x${type.toString(16)} of ${vlen} bytes runs past the header`);
    tlvs.push({ type, value: Buffer.from(body.subarray(at + 3, at + 3 + vlen)) });
    at += 3 + vlen;
  }
  const command = (verCmd & 0x0f) === 0 ? 'LOCAL' : 'PROXY';
  return { status: 'ok', header: { command, transport: fam.transport, addresses: addressesOf(fam.family, body), tlvs, length: total } };
}

function checkVerCmd(b: number): ProxyParse | undefined {
  if (b >> 4 !== 2) return err('BAD_VERSION', `version ${b >> 4}, expected 2`);
  const cmd = b & 0x0f;
  if (cmd !== 0 && cmd !== 1) return err('BAD_COMMAND', `command ${cmd} is neither LOCAL (0) nor PROXY (1)`);
  return undefined;
}

function familyOf(b: number): { readonly family: ProxyFamily; readonly transport: ProxyTransport } | ProxyParse & { status: 'error' } {
  const family = FAMILIES[b >> 4];
  const transport = TRANSPORTS[b & 0x0f];
  if (family === undefined || transport === undefined) return { status: 'error', code: 'BAD_FAMILY', message: `family/transport byte 0x${b.toString(16).padStart(2, '0')} is not defined` };
  return { family, transport };
}

function addressesOf(family: ProxyFamily, body: Buffer): ProxyAddresses {
  switch (family) {
    case 'INET':
      return { family, sourceIp: ipv4(body, 0), destIp: ipv4(body, 4), sourcePort: body.readUInt16BE(8), destPort: body.readUInt16BE(10) };
    case 'INET6':
      return { family, sourceIp: ipv6(body, 0), destIp: ipv6(body, 16), sourcePort: body.readUInt16BE(32), destPort: body.readUInt16BE(34) };
    case 'UNIX':
      return { family, sourcePath: cString(body.subarray(0, 108)), destPath: cString(body.subarray(108, 216)) };
    case 'UNSPEC':
      return { family };
  }
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + i * 2).toString(16));
  // Not compressed: the address is compared as text only after net.isIP normalisation by callers.
  return groups.join(':');
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** Encodes a PROXY (or LOCAL) v2 header for TCP over IPv4, optionally with raw TLV bytes; for clients and tests. */
export function encodeProxyV2(a: { readonly sourceIp: string; readonly sourcePort: number; readonly destIp: string; readonly destPort: number } | 'LOCAL', tlvs: Buffer = Buffer.alloc(0)): Buffer {
  if (a === 'LOCAL') {
    const h = Buffer.alloc(PROXY_V2_FIXED_BYTES);
    PROXY_V2_SIGNATURE.copy(h);
    h[12] = 0x20;
    h[13] = 0x00;
    h.writeUInt16BE(tlvs.length, 14);
    return Buffer.concat([h, tlvs]);
  }
  const h = Buffer.alloc(PROXY_V2_FIXED_BYTES + 12);
  PROXY_V2_SIGNATURE.copy(h);
  h[12] = 0x21;
  h[13] = 0x11;
  h.writeUInt16BE(12 + tlvs.length, 14);
  a.sourceIp.split('.').forEach((o, i) => (h[16 + i] = Number(o)));
  a.destIp.split('.').forEach((o, i) => (h[20 + i] = Number(o)));
  h.writeUInt16BE(a.sourcePort, 24);
  h.writeUInt16BE(a.destPort, 26);
  return Buffer.concat([h, tlvs]);
}
