/**
 * One TCP listener's life cycle (listen, the bound address, stop accepting, close within a
 * deadline), for the listeners that only differ in what they do with an accepted socket: the
 * ztunnel's fixed-destination outbound and inbound ports.
 */
import type { Server, Socket } from 'node:net';
import { closeTcpServer, createTcpServer, listenTcp } from './sockets.js';

export abstract class AcceptingListener {
  private server: Server | undefined;

  constructor(
    private readonly listenHost: string,
    private readonly listenPort: number,
  ) {}

  async listen(): Promise<void> {
    const server = createTcpServer((socket) => this.onConnection(socket));
    await listenTcp(server, this.listenHost, this.listenPort);
    this.server = server;
  }

  /** `host:port` actually bound (port 0 picks one). */
  address(): string | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : undefined;
  }

  /** Stops accepting; open connections carry on. */
  stopAccepting(): void {
    this.server?.close();
  }

  close(deadlineMs: number): Promise<void> {
    const s = this.server;
    this.server = undefined;
    return s ? closeTcpServer(s, deadlineMs) : Promise.resolve();
  }

  protected abstract onConnection(socket: Socket): void;
}
