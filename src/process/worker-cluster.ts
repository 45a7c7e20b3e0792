/**
 * `--concurrency N` for a mesh role: N worker processes (node:cluster) run the whole role and
 * share its data-plane listeners; the primary owns what must be one per role.
 *
 * Who does what:
 * - Workers: the data plane. Each loads the config, its certificates and its own HBONE pool, and
 *   calls listen() on the same addresses; node:cluster hands each accepted connection to one
 *   worker in turn (round-robin, `SCHED_RR`, set here explicitly). HBONE is few long-lived
 *   connections, so the unit of spreading is the connection, not the request: every client
 *   ztunnel (and every source pod, by the pool key) opens its own, and consecutive accepts go to
 *   different workers. One single HBONE connection stays on one worker (as in Envoy).
 * - Worker 1 also serves the admin API (:15000), so config dumps and log levels have one answer;
 *   its `/quitquitquit` stops the whole role (it signals the primary).
 * - The primary: readiness (:15021; 200 once every worker is ready, 503 while draining) and
 *   Prometheus (:15020/:15090), aggregated over workers with prom-client's aggregator (counters and
 *   histograms summed), plus per-worker series `ambient_worker_*{worker="i"}` that show how load
 *   spreads. It restarts a worker that dies (after a short backoff) and drains all of them on
 *   SIGTERM/SIGINT or a `drain` from its own parent.
 */
const cluster = process.getBuiltinModule('node:cluster') as unknown as typeof import('node:cluster').default;
import type { Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { ReadinessServer } from '../admin/readiness-server.js';
import { ENVOY_METRICS_PORT, MERGED_METRICS_PORT, PrometheusServer } from '../admin/prometheus-server.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import { notifyReady, runUntilSignal } from './lifecycle.js';

/** Environment variable carrying a worker's 1-based index. */
export const WORKER_INDEX_ENV = 'AMBIENT_WORKER_INDEX';

/** The worker index (1..N) in a worker process, undefined in a primary or a single process. */
export function workerIndex(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(process.env[WORKER_INDEX_ENV]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export interface WorkerClusterOptions {
  readonly name: string;
  readonly readyName: string;
  readonly concurrency: number;
  readonly drainMs: number;
  /** Where the primary serves readiness and Prometheus. */
  readonly host: string;
  readonly metricsPorts?: readonly number[];
  readonly log?: (line: string) => void;
}

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
type ClusterMessage =
  | { readonly type: 'ready'; readonly name: string }
  | { readonly type: 'metrics-request'; readonly id: number }
  | { readonly type: 'metrics-response'; readonly id: number; readonly metrics: MetricsJson }
  | { readonly type: 'quit' };

function isMessage(m: unknown): m is ClusterMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}

const RESTART_BACKOFF_MS = 1000;
const METRICS_TIMEOUT_MS = 2000;

/** Per-worker series derived from each worker's own registry: sums over all label sets. */
const PER_WORKER_SERIES: readonly { readonly from: string; readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge' }[] = [
  { from: 'istio_requests_total', name: 'ambient_worker_http_requests_total', help: 'HTTP requests handled, per worker.', type: 'counter' },
  { from: 'istio_tcp_connections_opened_total', name: 'ambient_worker_tcp_connections_opened_total', help: 'TCP connections proxied, per worker.', type: 'counter' },
  { from: 'ambient_downstream_connections', name: 'ambient_worker_downstream_connections', help: 'Open downstream connections, per worker.', type: 'gauge' },
];

/** Runs the primary of a clustered role until it is told to stop; resolves with the exit code. */
export async function runWorkerCluster(opts: WorkerClusterOptions): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const workers = new Map<number, Worker>();
  const ready = new Set<number>();
  let stopping = false;
  let announced = false;
  /** A worker that fails before the role was ever ready (bad config, address taken) stops the role. */
  let failedStart = false;
  let nextRequest = 1;
  const pending = new Map<number, { readonly want: number; readonly got: Map<number, MetricsJson>; readonly done: () => void }>();
  const readiness = new ReadinessServer();

  const fork = (index: number): void => {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    workers.set(index, w);
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return;
      if (m.type === 'ready') {
        ready.add(index);
        if (!announced && ready.size === opts.concurrency) {
          announced = true;
          readiness.setReady();
          notifyReady(opts.readyName);
          log(`${opts.name}: ${opts.concurrency} workers ready`);
        }
      } else if (m.type === 'metrics-response') {
        const p = pending.get(m.id);
        if (p) {
          p.got.set(index, m.metrics);
          if (p.got.size >= p.want) p.done();
        }
      } else if (m.type === 'quit') {
        process.kill(process.pid, 'SIGTERM');
      }
    });
    w.on('exit', (code, signal) => {
      ready.delete(index);
      if (workers.get(index) === w) workers.delete(index);
      if (stopping) return;
      if (!announced) {
        failedStart = true;
        log(`${opts.name}: worker ${index} exited (${signal ?? code}) before the role was ready; stopping`);
        process.kill(process.pid, 'SIGTERM');
        return;
      }
      log(`${opts.name}: worker ${index} exited (${signal ?? code}); restarting in ${RESTART_BACKOFF_MS} ms`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, RESTART_BACKOFF_MS).unref();
    });
  };

  const collect = (): Promise<Map<number, MetricsJson>> =>
    new Promise((resolve) => {
      const id = nextRequest++;
      const got = new Map<number, MetricsJson>();
      const live = [...workers.entries()].filter(([, w]) => w.isConnected());
      const finish = (): void => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(got);
      };
      const timer = setTimeout(finish, METRICS_TIMEOUT_MS);
      pending.set(id, { want: live.length, got, done: finish });
      if (live.length === 0) finish();
      for (const [, w] of live) w.send({ type: 'metrics-request', id } satisfies ClusterMessage);
    });

  const exposition = async (): Promise<{ readonly contentType: string; readonly body: string }> => {
    const perWorker = await collect();
    const registry = AggregatorRegistry.aggregate([...perWorker.values()]);
    return { contentType: registry.contentType, body: (await registry.metrics()) + perWorkerText(perWorker) };
  };

  await readiness.listen(opts.host);
  const prometheus = new PrometheusServer({ exposition });
  await prometheus.listen(opts.host, opts.metricsPorts ?? [MERGED_METRICS_PORT, ENVOY_METRICS_PORT]);
  for (let i = 1; i <= opts.concurrency; i++) fork(i);

  await runUntilSignal(
    {
      close: async (deadline) => {
        stopping = true;
        const exits = [...workers.values()].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
        for (const w of workers.values()) if (w.isConnected()) w.send({ type: 'drain' });
        const timer = setTimeout(() => {
          for (const w of workers.values()) if (!w.isDead()) w.process.kill('SIGKILL');
        }, deadline + 2000);
        await Promise.all(exits);
        clearTimeout(timer);
        await prometheus.close(100);
        await readiness.close(100);
      },
    },
    { name: opts.name, drainMs: opts.drainMs, onDrainStart: () => readiness.setDraining(), log },
  );
  return failedStart ? 1 : 0;
}

/** In a worker: answer the primary's metrics requests from this process's registry. */
export function serveMetricsToPrimary(metrics: ProxyMetrics): void {
  process.on('message', (m: unknown) => {
    if (!isMessage(m) || m.type !== 'metrics-request' || !process.send) return;
    const id = m.id;
    void metrics.registry.getMetricsAsJSON().then((json) => process.send?.({ type: 'metrics-response', id, metrics: json } satisfies ClusterMessage));
  });
}

/** In a worker: stop the whole role (admin `/quitquitquit`), not only this worker. */
export function quitCluster(): void {
  if (process.send) process.send({ type: 'quit' } satisfies ClusterMessage);
  else process.kill(process.pid, 'SIGTERM');
}

function perWorkerText(perWorker: Map<number, MetricsJson>): string {
  let out = '';
  for (const s of PER_WORKER_SERIES) {
    out += `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} ${s.type}\n`;
    for (const [index, json] of [...perWorker.entries()].sort((a, b) => a[0] - b[0])) {
      const metric = json.find((m) => m.name === s.from);
      const sum = metric ? metric.values.reduce((acc, v) => acc + v.value, 0) : 0;
      out += `${s.name}{worker="${index}"} ${sum}\n`;
    }
  }
  return out;
}

/** `--concurrency`: a positive integer; 1 (or absent) runs the role in this process. */
export function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return 1;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}
