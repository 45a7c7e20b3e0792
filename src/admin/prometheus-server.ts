/**
 * The Prometheus scrape endpoint: `GET /stats/prometheus` on 15020 (pilot-agent's merged
 * endpoint, what Istio's `prometheus.io/port` annotation points at) and 15090 (Envoy's own), both
 * serving this process's registry in the text exposition format. Istio's 15020 also merges the
 * application's metrics; there is no application inside our proxies, so both serve the same.
 */
const http = process.getBuiltinModule('node:http');
declare namespace http { export type IncomingMessage = import('node:http').IncomingMessage; }
import type net from 'node:net';
import { closeTcpServer, listenTcp } from '../net/sockets.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';

export const MERGED_METRICS_PORT = 15020;
export const ENVOY_METRICS_PORT = 15090;

export class PrometheusServer {
  private readonly servers: import('node:http').Server[] = [];

  constructor(private readonly metrics: Pick<ProxyMetrics, 'exposition'>) {}

  private handle = (req: http.IncomingMessage, res: import('node:http').ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/stats/prometheus' && path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' });
      res.end('method not allowed\n');
      return;
    }
    this.metrics.exposition().then(
      (e) => {
        res.writeHead(200, { 'content-type': e.contentType });
        res.end(req.method === 'HEAD' ? undefined : e.body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${String(err)}\n`);
      },
    );
  };

  /** Listens on `host` at each port (default 15020 and 15090). */
  async listen(host: string, ports: readonly number[] = [MERGED_METRICS_PORT, ENVOY_METRICS_PORT]): Promise<net.AddressInfo[]> {
    const out: net.AddressInfo[] = [];
    for (const port of ports) {
      const s = http.createServer(this.handle);
      out.push(await listenTcp(s, host, port));
      this.servers.push(s);
    }
    return out;
  }

  async close(deadlineMs: number): Promise<void> {
    for (const s of this.servers) s.closeIdleConnections();
    await Promise.all(this.servers.map((s) => closeTcpServer(s, deadlineMs)));
  }
}
