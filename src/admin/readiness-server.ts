/**
 * The readiness endpoint every component serves on 15021 (`GET /healthz/ready`), as pilot-agent
 * and ztunnel do: 200 once the component has its config and listeners, 503 before that and while
 * draining, so a load balancer or kubelet stops sending new work before the process exits.
 */
import http from 'node:http';
import type net from 'node:net';
import { closeTcpServer, listenTcp } from '../net/sockets.js';

export const READINESS_PORT = 15021;

export class ReadinessServer {
  private ready = false;
  private draining = false;
  private readonly server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz/ready' || path === '/ready')) {
      const ok = this.ready && !this.draining;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'LIVE\n' : this.draining ? 'DRAINING\n' : 'NOT READY\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });

  async listen(host: string, port = READINESS_PORT): Promise<net.AddressInfo> {
    return listenTcp(this.server, host, port);
  }

  setReady(): void {
    this.ready = true;
  }

  setDraining(): void {
    this.draining = true;
  }

  async close(deadlineMs: number): Promise<void> {
    this.server.closeAllConnections();
    await closeTcpServer(this.server, deadlineMs);
  }
}
