/**
 * The readiness endpoint every component serves on 15021 (`GET /healthz/ready`), as pilot-agent
 * and ztunnel do: 200 once the component has its config and listeners, 503 before that and while
 * draining, so a load balancer or kubelet stops sending new work before the process exits.
 */
const http = process.getBuiltinModule('node:http');
import type net from 'node:net';
import { closeTcpServer, listenTcp } from '../net/sockets.js';

export const READINESS_PORT = 15021;

/** Envoy's server states as `/ready` reports them (`envoy.admin.v3.ServerInfo.State`). */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING';

export class ReadinessServer {
  private ready = false;
  private draining = false;
  /** Set by the admin API's `POST /healthcheck/fail`, cleared by `/healthcheck/ok`. */
  private healthcheckFailed = false;
  /** Control-plane config state: not ready before the first config; stale is reported, not fatal. */
  private configGate: (() => { readonly synced: boolean; readonly stale?: string }) | undefined;
  private readonly server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz/ready' || path === '/ready')) {
      const state = this.state();
      res.writeHead(state === 'LIVE' ? 200 : 503, { 'content-type': 'text/plain' });
      const stale = state === 'LIVE' ? this.configGate?.().stale : undefined;
      res.end(state === 'LIVE' ? (stale ? `LIVE (config stale: ${stale})\n` : 'LIVE\n') : state === 'DRAINING' ? 'DRAINING\n' : 'NOT READY\n');
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

  /**
   * Reports not-ready until `gate().synced` (first config from a control plane), and marks the
   * answer when the config is stale (the control plane is gone; the last good config serves).
   */
  gateOnConfig(gate: () => { readonly synced: boolean; readonly stale?: string }): void {
    this.configGate = gate;
  }

  setDraining(): void {
    this.draining = true;
  }

  /** Envoy's `/healthcheck/fail|ok`: a failed health check reports DRAINING, as Envoy does. */
  setHealthcheckFailed(failed: boolean): void {
    this.healthcheckFailed = failed;
  }

  state(): ServerState {
    if (this.draining || this.healthcheckFailed) return 'DRAINING';
    return this.ready && (this.configGate?.().synced ?? true) ? 'LIVE' : 'PRE_INITIALIZING';
  }

  async close(deadlineMs: number): Promise<void> {
    this.server.closeAllConnections();
    await closeTcpServer(this.server, deadlineMs);
  }
}
