/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends (Envoy's
 * `tls_inspector`), so a TCP proxy can route TLS it does not terminate by `sniHosts`.
 *
 * A bounded byte scanner over untrusted input (RFC 8446 §4.1.2, RFC 6066 §3): TLS records of type
 * handshake are reassembled until the ClientHello message is whole (a large one, e.g. with
 * post-quantum key shares, may span records), then its extensions are walked for `server_name`.
 * Anything that is not a well-formed ClientHello is "not TLS": the connection is routed without a
 * server name, never refused for it.
 */

/** The outcome for a prefix: more bytes needed, or decided. */
export type ClientHelloScan = 'more' | { readonly tls: boolean; readonly sni?: string };

/** The most we read while waiting for a ClientHello: a record's maximum plus headers. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024 + 5 + 4;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
const NOT_TLS: ClientHelloScan = Object.freeze({ tls: false });

/** Scans `buf` (the stream's first bytes). Pure; exported for tests. */
export function scanClientHello(buf: Buffer): ClientHelloScan {
  const hs = handshakeBytes(buf);
  if (hs === 'more' || hs === undefined) return hs ?? NOT_TLS;
  return parseClientHello(hs);
}

/** The handshake message bytes, reassembled from records: `more`, or undefined when not TLS. */
function handshakeBytes(buf: Buffer): Buffer | 'more' | undefined {
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  for (;;) {
    if (buf.length - off < 5) return buf.length >= MAX_CLIENT_HELLO_BYTES ? undefined : 'more';
    // Record: type, legacy version 3.x, length ≤ 2^14.
    if (buf[off] !== RECORD_HANDSHAKE || buf[off + 1] !== 0x03) return undefined;
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384) return undefined;
    if (buf.length - off - 5 < len) return buf.length >= MAX_CLIENT_HELLO_BYTES ? undefined : 'more';
    parts.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const first = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, have);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO) return undefined;
      need = 4 + first.readUIntBE(1, 3);
      if (need > MAX_CLIENT_HELLO_BYTES) return undefined;
    }
    if (need >= 0 && have >= need) return Buffer.concat(parts, have).subarray(0, need);
  }
}

/** Walks a whole ClientHello message (type and length included) for its host name. */
function parseClientHello(m: Buffer): ClientHelloScan {
  // type(1) length(3) legacy_version(2) random(32)
  let i = 4 + 2 + 32;
  const skip = (lenBytes: 1 | 2): boolean => {
    if (i + lenBytes > m.length) return false;
    const n = lenBytes === 1 ? (m[i] as number) : m.readUInt16BE(i);
    i += lenBytes + n;
    return i <= m.length;
  };
  // session id, cipher suites, compression methods
  if (!skip(1) || !skip(2) || !skip(1)) return NOT_TLS;
  // No extensions at all (TLS 1.0-era clients): TLS without a server name.
  if (i === m.length) return { tls: true };
  if (i + 2 > m.length) return NOT_TLS;
  const end = i + 2 + m.readUInt16BE(i);
  if (end > m.length) return NOT_TLS;
  i += 2;
  while (i + 4 <= end) {
    const type = m.readUInt16BE(i);
    const len = m.readUInt16BE(i + 2);
    const body = i + 4;
    if (body + len > end) return NOT_TLS;
    if (type === EXT_SERVER_NAME) return { tls: true, ...serverName(m.subarray(body, body + len)) };
    i = body + len;
  }
  return { tls: true };
}

/** The first host_name of a server_name extension, lower-cased; nothing when malformed. */
function serverName(ext: Buffer): { sni?: string } {
  if (ext.length < 2) return {};
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  let i = 2;
  while (i + 3 <= end) {
    const type = ext[i] as number;
    const len = ext.readUInt16BE(i + 1);
    if (i + 3 + len > end) return {};
    if (type === NAME_TYPE_HOST) {
      const name = ext.subarray(i + 3, i + 3 + len).toString('latin1');
      // A DNS name: no trailing dot, printable ASCII only (anything else is not routable by name).
      return /^[\x21-\x7e]+$/.test(name) ? { sni: name.replace(/\.$/, '').toLowerCase() } : {};
    }
    i += 3 + len;
  }
  return {};
}
