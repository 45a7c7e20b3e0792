/**
 * A SOCKS5 client (RFC 1928, no authentication, CONNECT only): how `ambient curl` and the tests send
 * traffic "from" a pod through its ztunnel, exactly as an app would through ztunnel's SOCKS5 port.
 */
const net = process.getBuiltinModule('node:net');
import type { Socket } from 'node:net';
import { connectTcp } from './sockets.js';

export interface Socks5ConnectOptions {
  /** The ztunnel's SOCKS5 listener (in the local mesh: `<podIP>:15080`). */
  readonly proxyHost: string;
  readonly proxyPort: number;
  /** Bind this source address: the ztunnel identifies the source pod by it. */
  readonly localAddress?: string;
  /** Destination: an IP or a host name (sent as a domain name, resolved by the ztunnel). */
  readonly host: string;
  readonly port: number;
  readonly timeoutMs?: number;
}

/** SOCKS5 reply codes (RFC 1928 §6), with their meaning for error messages. */
export const SOCKS5_REPLY_TEXT: Readonly<Record<number, string>> = Object.freeze({
  0x00: 'succeeded',
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
});

export class Socks5Error extends Error {
  constructor(
    readonly reply: number,
    message: string,
  ) {
    super(message);
    this.name = 'Socks5Error';
  }
}

/** Connects through the proxy; resolves with a socket carrying the tunnelled bytes. */
export async function socks5Connect(opts: Socks5ConnectOptions): Promise<Socket> {
  const conn = await connectTcp({
    host: opts.proxyHost,
    port: opts.proxyPort,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  if (!conn.ok) throw new Socks5Error(0x01, conn.message);
  const socket = conn.value;
  try {
    await handshake(socket, opts);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

function encodeAddress(host: string, port: number): Buffer {
  const portBuf = Buffer.alloc(2);
  portBuf.writeUInt16BE(port);
  if (net.isIPv4(host)) return Buffer.concat([Buffer.from([0x01, ...host.split('.').map(Number)]), portBuf]);
  if (net.isIPv6(host)) {
    const sock = new net.SocketAddress({ address: host, family: 'ipv6' });
    return Buffer.concat([Buffer.from([0x04]), ipv6Bytes(sock.address), portBuf]);
  }
  const name = Buffer.from(host, 'utf8');
  if (name.length > 255) throw new Socks5Error(0x08, `host name too long: ${host}`);
  return Buffer.concat([Buffer.from([0x03, name.length]), name, portBuf]);
}

function ipv6Bytes(addr: string): Buffer {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function handshake(socket: Socket, opts: Socks5ConnectOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let stage: 'method' | 'reply' = 'method';
    const timer = setTimeout(() => finish(new Socks5Error(0x01, 'SOCKS5 handshake timed out')), opts.timeoutMs ?? 15_000);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      if (err) {
        reject(err);
        return;
      }
      // Bytes that arrived with the reply belong to the tunnelled stream: give them back.
      if (buf.length > 0) socket.unshift(buf);
      resolve();
    };
    const onError = (err: Error): void => finish(err);
    const onEnd = (): void => finish(new Socks5Error(0x01, 'proxy closed the connection during the handshake'));
    // 'readable' + read() rather than 'data', so the socket is not left in flowing mode with nobody
    // listening once the handshake is done (bytes would be lost before the caller attaches).
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) buf = Buffer.concat([buf, chunk]);
      step();
    };
    const step = (): void => {
      if (stage === 'method') {
        if (buf.length < 2) return;
        if (buf[0] !== 0x05 || buf[1] !== 0x00) return finish(new Socks5Error(0x01, 'proxy refused the no-auth method'));
        buf = buf.subarray(2);
        stage = 'reply';
        socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), encodeAddress(opts.host, opts.port)]));
      }
      if (buf.length < 5) return;
      const rep = buf[1] ?? 0x01;
      const atyp = buf[3];
      const addrLen = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? 1 + (buf[4] ?? 0) : -1;
      if (addrLen < 0) return finish(new Socks5Error(0x01, `bad address type ${atyp} in reply`));
      const total = 4 + addrLen + 2;
      if (buf.length < total) return;
      buf = buf.subarray(total);
      if (rep !== 0x00) return finish(new Socks5Error(rep, `SOCKS5 CONNECT failed: ${SOCKS5_REPLY_TEXT[rep] ?? `reply ${rep}`}`));
      finish();
    };
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.write(Buffer.from([0x05, 0x01, 0x00]));
  });
}
