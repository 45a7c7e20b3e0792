/**
 * The admin API on 15000, in Envoy's shapes where they apply (envoyproxy/envoy
 * source/server/admin/admin.cc and docs/root/operations/admin.rst), so `istioctl`-style tooling
 * and operators' habits carry over:
 *
 *   GET  /  /help /ready /stats (?format=json) /stats/prometheus /config_dump /clusters (?format=json)
 *        /listeners (?format=json) /server_info /certs /memory
 *   POST /logging?level= /healthcheck/fail /healthcheck/ok /drain_listeners /quitquitquit /reset_counters
 *
 * Mutating endpoints answer any other method as Envoy's admin does: 405 with
 * `Method <M> not allowed, POST required.`; an unknown path gets 404 `invalid path. ` + the help.
 *
 * Envoy binds 127.0.0.1:15000; the local mesh has one loopback "host" per component, so each
 * binds its own address (waypoint address, ztunnel node address) instead: several components on
 * one machine cannot share 127.0.0.1:15000.
 */
const http = process.getBuiltinModule('node:http');
import type { TraceHub } from './debug-trace.js';
import type net from 'node:net';
import { closeTcpServer, listenTcp } from '../net/sockets.js';
import type { Logger } from '../telemetry/logger.js';
import { isLogLevel } from '../telemetry/logger.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import type { ReadinessServer } from './readiness-server.js';
import { renderStatsJson, renderStatsText } from './stats-text.js';

export const ADMIN_PORT = 15000;

export interface ClusterHostStatus {
  /** `ip:port`. */
  readonly address: string;
  readonly rqActive: number;
  /** Envoy's `health_flags` (`healthy`, or `/failed_outlier_check`...). */
  readonly healthFlags: string;
}

export interface ClusterStatus {
  readonly name: string;
  readonly hosts: readonly ClusterHostStatus[];
}

export interface ListenerStatus {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

export interface CertStatus {
  readonly path: string;
  readonly serialNumber: string;
  readonly subjectAltNames: readonly { readonly uri?: string; readonly dns?: string }[];
  readonly daysUntilExpiration: number;
  readonly validFrom: string;
  readonly expirationTime: string;
}

export interface CertChainStatus {
  readonly caCert: readonly CertStatus[];
  readonly certChain: readonly CertStatus[];
}

/** What a component shows and lets be changed through the admin API. */
export interface AdminTarget {
  /** `waypoint` or `ztunnel`, with the component's name: `server_info.node.id`. */
  readonly role: 'waypoint' | 'ztunnel';
  readonly nodeId: string;
  readonly metrics: ProxyMetrics;
  readonly readiness: ReadinessServer;
  readonly logger: Logger;
  /** `/config_dump`, narrowed by `?resource=` when given. */
  configDump(resource?: string): unknown;
  clusters(): readonly ClusterStatus[];
  listeners(): readonly ListenerStatus[];
  certs(): Promise<readonly CertChainStatus[]>;
  /** Stop accepting new connections; open ones continue. */
  drainListeners(): Promise<void>;
  /** Shut the process down (drain, then exit), after the reply is sent. */
  quit(): void;
  /** `/debug/trace` (server-sent events of live requests); absent = off, the path answers 404. */
  readonly debugTrace?: TraceHub;
}

const TRACE_PATH = '/debug/trace';

type Reply = { readonly status: number; readonly contentType: string; readonly body: string };
type Handler = (query: URLSearchParams) => Reply | Promise<Reply>;

interface Endpoint {
  readonly help: string;
  readonly mutates: boolean;
  readonly handle: Handler;
}

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

function text(body: string, status = 200): Reply {
  return { status, contentType: TEXT, body };
}

function json(value: unknown, status = 200): Reply {
  return { status, contentType: JSON_TYPE, body: `${JSON.stringify(value, null, 2)}\n` };
}

const OK = text('OK\n');

export class AdminServer {
  private readonly endpoints: ReadonlyMap<string, Endpoint>;
  private readonly started = Date.now();
  private readonly server: import('node:http').Server;

  constructor(private readonly target: AdminTarget) {
    this.endpoints = this.table();
    this.server = http.createServer((req, res) => {
      // A stream, not a reply: handed to the trace hub when tracing is on (--debug-trace).
      const hub = this.target.debugTrace;
      if (hub && req.method === 'GET' && (req.url === TRACE_PATH || req.url?.startsWith(`${TRACE_PATH}?`))) {
        const url = req.url;
        hub.serve(req, res, new URLSearchParams(url.length > TRACE_PATH.length ? url.slice(TRACE_PATH.length + 1) : ''));
        return;
      }
      void this.serve(req.method ?? 'GET', req.url ?? '/').then(
        (r) => {
          res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff' });
          res.end(r.body);
          if (r === QUIT_REPLY) res.once('finish', () => this.target.quit());
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': TEXT });
          res.end(`${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
    });
  }

  async listen(host: string, port = ADMIN_PORT): Promise<net.AddressInfo> {
    return listenTcp(this.server, host, port);
  }

  async close(deadlineMs: number): Promise<void> {
    // Open trace streams would hold the server open until the deadline.
    this.target.debugTrace?.close();
    this.server.closeIdleConnections();
    await closeTcpServer(this.server, deadlineMs);
  }

  /** Routes one request; exported for tests through {@link AdminServer.listen}. */
  async serve(method: string, url: string): Promise<Reply> {
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const ep = this.endpoints.get(path);
    if (!ep) return text(`invalid path. ${this.help()}`, 404);
    if (ep.mutates && method !== 'POST') return text(`Method ${method} not allowed, POST required.`, 405);
    return ep.handle(query);
  }

  private help(): string {
    const lines = ['admin commands are:'];
    for (const [path, ep] of [...this.endpoints].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push(`  ${path}${ep.mutates ? ' (POST)' : ''}: ${ep.help}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private table(): Map<string, Endpoint> {
    const t = this.target;
    const get = (help: string, handle: Handler): Endpoint => ({ help, mutates: false, handle });
    const post = (help: string, handle: Handler): Endpoint => ({ help, mutates: true, handle });
    return new Map<string, Endpoint>([
      ['/', get('Admin home page', () => text(this.help()))],
      ['/help', get('print out list of admin commands', () => text(this.help()))],
      [
        '/ready',
        get('print server state, return 200 if LIVE, otherwise return 503', () => {
          const state = t.readiness.state();
          return text(`${state}\n`, state === 'LIVE' ? 200 : 503);
        }),
      ],
      [
        '/stats',
        get('print server stats (?format=json)', async (q) => {
          const metrics = await t.metrics.registry.getMetricsAsJSON();
          return q.get('format') === 'json' ? json(renderStatsJson(metrics)) : text(renderStatsText(metrics));
        }),
      ],
      [
        '/stats/prometheus',
        get('print server stats in prometheus format', async () => {
          const e = await t.metrics.exposition();
          return { status: 200, contentType: e.contentType, body: e.body };
        }),
      ],
      ['/config_dump', get('dump the effective config: every object of the snapshot, its generation and diagnostics', async (q) => json(await t.configDump(q.get('resource') ?? undefined)))],
      ['/clusters', get('upstream cluster status (?format=json)', (q) => (q.get('format') === 'json' ? json(clustersJson(t.clusters())) : text(clustersText(t.clusters()))))],
      ['/listeners', get('print listener info (?format=json)', (q) => (q.get('format') === 'json' ? json(listenersJson(t.listeners())) : text(listenersText(t.listeners()))))],
      ['/server_info', get('print server version/status information', () => json(this.serverInfo()))],
      ['/certs', get('print certs on machine', async () => json({ certificates: (await t.certs()).map(certChainJson) }))],
      [
        TRACE_PATH,
        get('stream live requests as server-sent events (?method=&path=&status=&principal=); needs --debug-trace', () =>
          text('/debug/trace is off: start the role with --debug-trace\n', 404),
        ),
      ],
      ['/memory', get('print current allocation/heap usage', () => json(memoryJson()))],
      [
        '/logging',
        post('query/change logging levels (?level=)', (q) => {
          const level = q.get('level');
          if (level !== null && level !== '') {
            if (!isLogLevel(level)) return text(`error: unknown logger level\n${this.loggers()}`, 404);
            t.logger.setLevel(level);
            t.logger.log('admin', 'info', 'log level changed', { level });
          }
          return text(this.loggers());
        }),
      ],
      [
        '/healthcheck/fail',
        post('cause the server to fail health checks', () => {
          t.readiness.setHealthcheckFailed(true);
          return OK;
        }),
      ],
      [
        '/healthcheck/ok',
        post('cause the server to pass health checks', () => {
          t.readiness.setHealthcheckFailed(false);
          return OK;
        }),
      ],
      [
        '/drain_listeners',
        post('drain listeners', async () => {
          await t.drainListeners();
          return OK;
        }),
      ],
      ['/quitquitquit', post('exit the server', () => QUIT_REPLY)],
      [
        '/reset_counters',
        post('reset all counters to zero', () => {
          t.metrics.registry.resetMetrics();
          return OK;
        }),
      ],
    ]);
  }

  private loggers(): string {
    return `active loggers:\n${this.target.logger
      .activeLevels()
      .map(([s, l]) => `  ${s}: ${l}\n`)
      .join('')}`;
  }

  /** Envoy's `ServerInfo` shape, with the fields that mean something here. */
  private serverInfo(): unknown {
    const up = `${Math.floor((Date.now() - this.started) / 1000)}s`;
    return {
      version: `ambient-waypoint/${process.version}`,
      state: this.target.readiness.state(),
      hot_restart_version: 'disabled',
      command_line_options: { service_node: this.target.nodeId, service_cluster: this.target.role },
      node: { id: this.target.nodeId, cluster: this.target.role, user_agent_name: 'ambient-waypoint', metadata: { role: this.target.role } },
      uptime_current_epoch: up,
      uptime_all_epochs: up,
    };
  }
}

/** A distinct object so the handler knows to quit once the reply is flushed. */
const QUIT_REPLY: Reply = text('OK\n');

/** Envoy's text `/clusters`: `<cluster>::<host>::<stat>::<value>` lines. */
function clustersText(clusters: readonly ClusterStatus[]): string {
  let out = '';
  for (const c of clusters) {
    out += `${c.name}::observability_name::${c.name}\n`;
    for (const h of c.hosts) {
      out += `${c.name}::${h.address}::rq_active::${h.rqActive}\n`;
      out += `${c.name}::${h.address}::health_flags::${h.healthFlags}\n`;
    }
  }
  return out;
}

function socketAddress(address: string, port: number): unknown {
  return { socket_address: { address, port_value: port } };
}

function hostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i).replace(/^\[|\]$/g, ''), Number(addr.slice(i + 1))];
}

function clustersJson(clusters: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      observability_name: c.name,
      host_statuses: c.hosts.map((h) => {
        const [ip, port] = hostPort(h.address);
        return {
          address: socketAddress(ip, port),
          stats: [{ name: 'rq_active', type: 'GAUGE', value: String(h.rqActive) }],
          health_status: { eds_health_status: h.healthFlags === 'healthy' ? 'HEALTHY' : 'UNHEALTHY' },
        };
      }),
    })),
  };
}

/** Envoy's text `/listeners`: `<name>::<address>` lines. */
function listenersText(listeners: readonly ListenerStatus[]): string {
  return listeners.map((l) => `${l.name}::${l.address}:${l.port}\n`).join('');
}

function listenersJson(listeners: readonly ListenerStatus[]): unknown {
  return { listener_statuses: listeners.map((l) => ({ name: l.name, local_address: socketAddress(l.address, l.port) })) };
}

function certJson(c: CertStatus): unknown {
  return {
    path: c.path,
    serial_number: c.serialNumber,
    subject_alt_names: c.subjectAltNames,
    days_until_expiration: String(c.daysUntilExpiration),
    valid_from: c.validFrom,
    expiration_time: c.expirationTime,
  };
}

function certChainJson(c: CertChainStatus): unknown {
  return { ca_cert: c.caCert.map(certJson), cert_chain: c.certChain.map(certJson) };
}

function memoryJson(): unknown {
  const m = process.memoryUsage();
  // Envoy's `Memory` message: uint64 fields as strings.
  return { allocated: String(m.heapUsed), heap_size: String(m.heapTotal), pageheap_unmapped: '0', pageheap_free: '0', total_thread_cache: '0', total_physical_bytes: String(m.rss) };
}
