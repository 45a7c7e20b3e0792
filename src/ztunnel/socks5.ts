/**
 * The server side of a SOCKS5 handshake (RFC 1928): no-auth method, CONNECT only, address types
 * IPv4, domain name and IPv6. This is how an app (or `ambient curl`, or a test) hands a connection
 * to its ztunnel in the local mesh, like ztunnel's own SOCKS5 port 15080.
 *
 * Split in two: {@link Socks5Parser} is a pure byte state machine (fed pieces of any size, never
 * throws, knows exactly how many bytes it needs, so buffering is bounded by the protocol's
 * largest message, 262 bytes); {@link acceptSocks5} drives it on a socket with a timeout.
 * The CONNECT reply is sent later by the caller, with {@link writeSocks5Reply}, once it knows
 * whether the tunnel came up.
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { Socket } from 'node:net';

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SOCKS5_REPLY = Object.freeze({
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  /** "connection not allowed by ruleset": an L4 policy denied it. */
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const);

export type Socks5ReplyCode = (typeof SOCKS5_REPLY)[keyof typeof SOCKS5_REPLY];

/** A parsed CONNECT request. */
export interface Socks5Request {
  readonly addressType: 'ipv4' | 'domain' | 'ipv6';
  /** Dotted IPv4, compressed IPv6, or the domain name as sent. */
  readonly host: string;
  readonly port: number;
  /** True for IPv4/IPv6 address types, and for a domain name that is an IP literal. */
  readonly isIp: boolean;
}

/** One step of the parser. */
export type Socks5Event =
  /** Needs more bytes. */
  | { readonly kind: 'more' }
  /** The method negotiation is done; `send` is the server's method choice (no-auth). */
  | { readonly kind: 'greeting'; readonly send: Buffer }
  /** The CONNECT request; `rest` are bytes the client sent after it (early payload). */
  | { readonly kind: 'request'; readonly request: Socks5Request; readonly rest: Buffer }
  /** A protocol error: send `send` (if any), then close. */
  | { readonly kind: 'error'; readonly reason: string; readonly send?: Buffer };

const VERSION = 0x05;
const METHOD_NO_AUTH = 0x00;
const NO_ACCEPTABLE_METHOD = Buffer.from([VERSION, 0xff]);
const CHOSE_NO_AUTH = Buffer.from([VERSION, METHOD_NO_AUTH]);
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;
const MORE: Socks5Event = Object.freeze({ kind: 'more' });

/**
 * Incremental parser of the client's greeting and CONNECT request. `push` bytes, then call `next`
 * until it returns `more`; after `request` or `error` it is done and returns that event again.
 */
export class Socks5Parser {
  private buf: Buffer = Buffer.alloc(0);
  private stage: 'greeting' | 'request' | 'done' = 'greeting';
  private final: Socks5Event | undefined;

  push(chunk: Buffer): void {
    if (this.stage === 'done') return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  next(): Socks5Event {
    if (this.final) return this.final;
    return this.stage === 'greeting' ? this.greeting() : this.request();
  }

  private greeting(): Socks5Event {
    const b = this.buf;
    if (b.length < 1) return MORE;
    if (b[0] !== VERSION) return this.finish({ kind: 'error', reason: `not SOCKS5 (first byte 0x${hex(b[0])})` });
    if (b.length < 2) return MORE;
    const n = b[1] ?? 0;
    if (b.length < 2 + n) return MORE;
    const methods = b.subarray(2, 2 + n);
    this.buf = b.subarray(2 + n);
    if (!methods.includes(METHOD_NO_AUTH)) {
      return this.finish({ kind: 'error', reason: 'client offers no acceptable method', send: NO_ACCEPTABLE_METHOD });
    }
    this.stage = 'request';
    return { kind: 'greeting', send: CHOSE_NO_AUTH };
  }

  private request(): Socks5Event {
    const b = this.buf;
    if (b.length < 4) return MORE;
    if (b[0] !== VERSION) {
      return this.finish({ kind: 'error', reason: `bad request version 0x${hex(b[0])}`, send: replyBytes(SOCKS5_REPLY.GENERAL_FAILURE) });
    }
    if (b[1] !== CMD_CONNECT) {
      return this.finish({
        kind: 'error',
        reason: `unsupported command 0x${hex(b[1])}`,
        send: replyBytes(SOCKS5_REPLY.COMMAND_NOT_SUPPORTED),
      });
    }
    const atyp = b[3];
    let addrLen: number;
    let addrStart = 4;
    switch (atyp) {
      case ATYP_IPV4:
        addrLen = 4;
        break;
      case ATYP_IPV6:
        addrLen = 16;
        break;
      case ATYP_DOMAIN:
        if (b.length < 5) return MORE;
        addrLen = b[4] ?? 0;
        addrStart = 5;
        if (addrLen === 0) {
          return this.finish({ kind: 'error', reason: 'empty domain name', send: replyBytes(SOCKS5_REPLY.HOST_UNREACHABLE) });
        }
        break;
      default:
        return this.finish({
          kind: 'error',
          reason: `unsupported address type 0x${hex(atyp)}`,
          send: replyBytes(SOCKS5_REPLY.ADDRESS_TYPE_NOT_SUPPORTED),
        });
    }
    const end = addrStart + addrLen + 2;
    if (b.length < end) return MORE;
    const addr = b.subarray(addrStart, addrStart + addrLen);
    const port = b.readUInt16BE(addrStart + addrLen);
    const rest = b.subarray(end);
    this.buf = Buffer.alloc(0);
    let request: Socks5Request;
    if (atyp === ATYP_IPV4) {
      request = { addressType: 'ipv4', host: `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`, port, isIp: true };
    } else if (atyp === ATYP_IPV6) {
      request = { addressType: 'ipv6', host: formatIpv6(addr), port, isIp: true };
    } else {
      // latin1 keeps every byte as one char: a garbage name can never fail to decode, and simply
      // matches no service (host unreachable).
      const host = addr.toString('latin1');
      request = { addressType: 'domain', host, port, isIp: isIP(host) !== 0 };
    }
    return this.finish({ kind: 'request', request, rest });
  }

  private finish(ev: Socks5Event): Socks5Event {
    this.stage = 'done';
    this.final = ev;
    return ev;
  }
}

/** The reply frame: VER REP RSV ATYP BND.ADDR BND.PORT (bound address IPv4, 0.0.0.0:0 unless given). */
export function replyBytes(code: Socks5ReplyCode, bound?: { readonly address: string; readonly port: number }): Buffer {
  const out = Buffer.alloc(10);
  out[0] = VERSION;
  out[1] = code;
  out[3] = ATYP_IPV4;
  if (bound && isIP(bound.address) === 4) {
    const parts = bound.address.split('.');
    for (let i = 0; i < 4; i++) out[4 + i] = Number(parts[i]);
    out.writeUInt16BE(bound.port & 0xffff, 8);
  }
  return out;
}

export type Socks5AcceptResult =
  | { readonly ok: true; readonly request: Socks5Request }
  | { readonly ok: false; readonly reason: string };

export interface Socks5AcceptOptions {
  /** Whole handshake (greeting + request) must complete within this; default 10 s. */
  readonly timeoutMs?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Runs the handshake on `socket`. On success the socket is left paused (not flowing) with any
 * early payload put back in its buffer, and the caller must answer with {@link writeSocks5Reply}.
 * On failure the error reply (if any) has been sent and the socket is closed. Never rejects.
 */
export function acceptSocks5(socket: Socket, opts: Socks5AcceptOptions = {}): Promise<Socks5AcceptResult> {
  return new Promise((resolve) => {
    const parser = new Socks5Parser();
    let done = false;
    const timer = setTimeout(() => fail('handshake timed out'), opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);

    const detach = (): void => {
      done = true;
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const fail = (reason: string, send?: Buffer): void => {
      if (done) return;
      detach();
      closeWith(socket, send);
      resolve({ ok: false, reason });
    };
    const onEnd = (): void => fail('client closed during the handshake');
    const onClose = (): void => fail('connection closed during the handshake');
    const onError = (err: Error): void => fail(`socket error: ${err.message}`);
    // 'readable' + read(), never 'data': the socket must not be left flowing with nobody listening
    // once the handshake is done, or early payload would be lost before the tunnel is attached.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = socket.read() as Buffer | null) !== null) {
        parser.push(chunk);
        drive();
      }
    };
    const drive = (): void => {
      for (;;) {
        const ev = parser.next();
        switch (ev.kind) {
          case 'more':
            return;
          case 'greeting':
            socket.write(ev.send);
            continue;
          case 'error':
            fail(ev.reason, ev.send);
            return;
          case 'request':
            detach();
            if (ev.rest.length > 0) socket.unshift(ev.rest);
            resolve({ ok: true, request: ev.request });
            return;
        }
      }
    };
    // A socket error after the handshake belongs to whoever takes the socket over; until then,
    // swallow it here so a misbehaving client can never crash the process.
    socket.on('error', onError);
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onClose);
  });
}

/**
 * Sends the CONNECT reply. Anything but success closes the connection after the reply is flushed
 * (forced shortly after, so a client that never reads cannot hold it open).
 */
export function writeSocks5Reply(socket: Socket, code: Socks5ReplyCode, bound?: { readonly address: string; readonly port: number }): void {
  if (socket.destroyed) return;
  const bytes = replyBytes(code, bound);
  if (code === SOCKS5_REPLY.SUCCEEDED) {
    socket.write(bytes);
    return;
  }
  closeWith(socket, bytes);
}

const CLOSE_GRACE_MS = 1000;

function closeWith(socket: Socket, send: Buffer | undefined): void {
  if (socket.destroyed) return;
  // Keep a listener: a reset racing our reply must not surface as an unhandled 'error'.
  socket.on('error', ignore);
  const force = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  force.unref();
  socket.end(send ?? Buffer.alloc(0), () => {
    clearTimeout(force);
    socket.destroy();
  });
}

function ignore(): void {}

function hex(n: number | undefined): string {
  return (n ?? 0).toString(16).padStart(2, '0');
}

/** RFC 5952 text form: lowercase, no leading zeros, longest zero run (≥ 2 groups) as `::`. */
function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[i * 2] ?? 0) << 8) | (b[i * 2 + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hexes.join(':');
  const head = hexes.slice(0, bestStart).join(':');
  const tail = hexes.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}
