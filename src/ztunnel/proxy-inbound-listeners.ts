/**
 * The per-pod plaintext inbound listeners (`podIP:15006`, ztunnel's inbound passthrough port): a
 * connection opens with a PROXY protocol v2 header whose destination is the original `podIP:port`
 * and whose source is the original client, the facts ztunnel reads with `SO_ORIGINAL_DST` from an
 * iptables redirect. Whatever follows the header is the client's stream.
 *
 * Refused with a close and one access record (code `PROXY_PROTOCOL_INVALID`): no header, a
 * malformed one (the parser's reason in the record), a LOCAL command or a non-TCP family (no
 * original destination). A destination other than the listener's pod is
 * `PROXY_DESTINATION_MISMATCH`, as ztunnel refuses an HBONE CONNECT naming another address.
 *
 * The header is trusted for the source address: it is the capture mechanism here, and anything
 * able to connect on this loopback could bind the source address as well.
 */
import type { Server, Socket } from 'node:net';
import { closeTcpServer, createTcpServer, listenTcp } from '../net/sockets.js';
import { unmapV4 } from '../net/cidr.js';
import type { MeshView } from '../state/mesh-view.js';
import type { FailureCode } from '../failures.js';
import { PendingConnectionRecord } from './connection-record.js';
import type { PlaintextInboundOptions } from './plaintext-inbound.js';
import { readProxyHeader, servePlaintextInbound } from './plaintext-inbound.js';

export interface PlaintextListenerContext {
  readonly node: string;
  readonly view: () => MeshView;
  readonly inbound: PlaintextInboundOptions;
  /** Connection handlers, awaited by the ztunnel's close(). */
  readonly track: (p: Promise<void>) => void;
  /** Client sockets, forced closed at the drain deadline. */
  readonly clients: Set<Socket>;
  readonly headerTimeoutMs?: number;
  readonly onError: (err: unknown, context: string) => void;
}

/** Registers a client socket for forced close; errors surface through close/splice, never as throws. */
export function adoptClient(ctx: PlaintextListenerContext, socket: Socket): void {
  socket.on('error', () => undefined);
  ctx.clients.add(socket);
  socket.once('close', () => ctx.clients.delete(socket));
}

export class ProxyInboundListeners {
  /** Pod IP → its listener. */
  private readonly servers = new Map<string, Server>();

  constructor(
    private readonly port: number,
    private readonly ctx: PlaintextListenerContext,
  ) {}

  addresses(): string[] {
    return [...this.servers.keys()].map((ip) => `${ip}:${this.port}`);
  }

  /** Opens listeners for new pods, closes those of pods gone; returns the bind errors. */
  async reconcile(want: ReadonlySet<string>): Promise<unknown[]> {
    for (const [ip, server] of this.servers) {
      if (want.has(ip)) continue;
      this.servers.delete(ip);
      server.close();
    }
    const errors: unknown[] = [];
    for (const ip of want) {
      if (this.servers.has(ip)) continue;
      const server = createTcpServer((socket) => this.onConnection(socket, ip));
      try {
        await listenTcp(server, ip, this.port);
        server.on('error', (err) => this.ctx.onError(err, `plaintext inbound listener ${ip}:${this.port}`));
        this.servers.set(ip, server);
      } catch (err) {
        errors.push(err);
        this.ctx.onError(err, `plaintext inbound listener ${ip}:${this.port}`);
      }
    }
    return errors;
  }

  stopAccepting(): void {
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
  }

  close(deadlineMs: number): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    return Promise.all(all.map((s) => closeTcpServer(s, deadlineMs))).then(() => undefined);
  }

  private onConnection(socket: Socket, podIp: string): void {
    adoptClient(this.ctx, socket);
    this.ctx.track(this.handle(socket, podIp));
  }

  private async handle(socket: Socket, podIp: string): Promise<void> {
    const peer = `${unmapV4(socket.remoteAddress ?? '')}:${socket.remotePort ?? 0}`;
    const refuse = (code: FailureCode, message: string): void => {
      socket.destroy();
      new PendingConnectionRecord(this.ctx.inbound.recordSink, 'inbound', peer).complete(0, 0, { code, message });
    };
    const read = await readProxyHeader(socket, this.ctx.headerTimeoutMs);
    if (!read.ok) {
      refuse('PROXY_PROTOCOL_INVALID', `${read.reason}: ${read.message}`);
      return;
    }
    const a = read.header.addresses;
    if (read.header.command === 'LOCAL') {
      refuse('PROXY_PROTOCOL_INVALID', 'LOCAL command: no original destination');
      return;
    }
    if ((a.family !== 'INET' && a.family !== 'INET6') || read.header.transport !== 'STREAM') {
      refuse('PROXY_PROTOCOL_INVALID', `unsupported address family ${a.family}/${read.header.transport}: TCP over IPv4 or IPv6 only`);
      return;
    }
    const dest = unmapV4(a.destIp);
    const view = this.ctx.view();
    const w = view.workloadByIp(dest);
    if (dest !== podIp || !w || w.node !== this.ctx.node || w.protocol !== 'HBONE' || a.destPort === 0) {
      refuse('PROXY_DESTINATION_MISMATCH', `original destination ${dest}:${a.destPort} is not a port of ${podIp}`);
      return;
    }
    await servePlaintextInbound(socket, { sourceIp: unmapV4(a.sourceIp), sourcePort: a.sourcePort, workload: w, port: a.destPort }, view, this.ctx.inbound);
  }
}
