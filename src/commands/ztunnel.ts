/**
 * `ambient ztunnel --node NAME`: one node's L4 ztunnel. It serves every mesh pod whose
 * `spec.nodeName` is NAME (HBONE in on `<podIP>:15008`, SOCKS5 out on `<podIP>:15080`), and answers
 * readiness on `<admin-address>:15021`, the admin API on `:15000` and Prometheus on `:15020`/`:15090` there.
 */
const cluster = process.getBuiltinModule('node:cluster') as unknown as typeof import('node:cluster').default;
const { parseArgs } = process.getBuiltinModule('node:util');
import { ReadinessServer } from '../admin/readiness-server.js';
import { RoleObservability } from '../admin/role-observability.js';
import { ztunnelAdminTarget, ztunnelHealth } from '../admin/ztunnel-admin.js';
import { Logger } from '../telemetry/logger.js';
import { ProxyMetrics } from '../telemetry/metrics.js';
import { ZtunnelTelemetry } from '../telemetry/ztunnel-telemetry.js';
import { Ztunnel } from '../ztunnel/ztunnel.js';
import type { FixedOutboundSpec } from '../ztunnel/fixed-outbound.js';
import { parseFixedOutbound } from '../ztunnel/fixed-outbound.js';
import type { FixedInboundSpec } from '../ztunnel/fixed-inbound.js';
import { parseFixedInbound } from '../ztunnel/fixed-inbound.js';
import { parseConcurrency, quitCluster, runWorkerCluster, serveMetricsToPrimary, workerIndex } from '../process/worker-cluster.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { CONTROL_PLANE_OPTIONS, configGate, openControlPlane } from './control-plane-options.js';
import { configDirFor } from './cluster-config-dir.js';
import { parseCertLifetime } from './cert-lifetime-options.js';
import { openRoleContext } from './role-context.js';
import { parseAccessLogFormat, parseDrainMs, parseLogLevel, parseMaxConnections, ROLE_OPTIONS, serveUntilSignal } from './serve-role.js';
import { UsageError } from './usage-error.js';
import { applyDataPlaneV8Flags } from '../runner/role-node-flags.js';

/** `ambient ztunnel`'s option table (exported so the deploy tests parse the DaemonSet's args with it). */
export const ZTUNNEL_OPTIONS = {
  ...ROLE_OPTIONS,
  ...CONTROL_PLANE_OPTIONS,
  /** No default here: without `--config`, a ztunnel fed by a control plane reads no files (cluster-config-dir.ts). */
  config: { type: 'string' },
  node: { type: 'string' },
  'admin-address': { type: 'string', default: '127.0.0.1' },
  /** `<listenHost>:<port>=<ns/pod>-><host>:<port>`: a port that acts as a captured outbound connection (src/ztunnel/fixed-outbound.ts). */
  'outbound-fixed': { type: 'string', multiple: true },
  /** `<listenHost>:<port>=<ns/pod>:<port>`: a port that acts as captured plaintext inbound to that pod port (src/ztunnel/fixed-inbound.ts). */
  'inbound-fixed': { type: 'string', multiple: true },
  concurrency: { type: 'string' },
} as const;

export async function runZtunnel(argv: string[]): Promise<number> {
  applyDataPlaneV8Flags();
  const { values } = parseArgs({ args: argv, options: ZTUNNEL_OPTIONS });
  const node = values.node;
  if (!node) throw new UsageError('ztunnel needs --node NAME');
  const fixedOutbound: FixedOutboundSpec[] = [];
  for (const text of values['outbound-fixed'] ?? []) {
    const parsed = parseFixedOutbound(text);
    if (!parsed.ok) throw new UsageError(parsed.message);
    fixedOutbound.push(parsed.value);
  }
  const fixedInbound: FixedInboundSpec[] = [];
  for (const text of values['inbound-fixed'] ?? []) {
    const parsed = parseFixedInbound(text);
    if (!parsed.ok) throw new UsageError(parsed.message);
    fixedInbound.push(parsed.value);
  }
  const concurrency = parseConcurrency(values.concurrency);
  if (concurrency === undefined) throw new UsageError('--concurrency must be an integer from 1 to 64');
  const worker = workerIndex();
  const name = `ztunnel ${node}${worker !== undefined ? ` [worker ${worker}]` : ''}`;
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  const certLifetime = parseCertLifetime(values);
  const maxConnections = parseMaxConnections(values['max-connections']);
  if (concurrency > 1 && !cluster.isWorker) {
    return runWorkerCluster({ name, readyName: `ztunnel/${node}`, concurrency, drainMs, host: values['admin-address'] });
  }
  const controlPlane = await openControlPlane(values, { kind: 'ztunnel', node });
  const stateDir = values.state ?? defaultStateDir();
  // Fed by a control plane and given no --config: no demo files merged into the cluster's config.
  const configDir = configDirFor(values.config, controlPlane.sources.length > 0, stateDir);
  const ctx = await openRoleContext({ configDir, stateDir, name, controlPlane, certLifetime, ...(values.certs ? { certsDir: values.certs } : {}) });
  const readiness = new ReadinessServer();
  readiness.gateOnConfig(configGate(controlPlane.sources));
  if (worker === undefined) await readiness.listen(values['admin-address']);
  const metrics = new ProxyMetrics({ processMetrics: true });
  if (worker !== undefined) serveMetricsToPrimary(metrics);
  const logger = new Logger({ level: parseLogLevel(values['log-level']) });
  const telemetry = new ZtunnelTelemetry({ metrics, view: ctx.store, format: parseAccessLogFormat(values['access-log'], values.quiet) });
  const ztunnel = new Ztunnel({
    node,
    view: ctx.store,
    certs: ctx.certs,
    accessLog: telemetry.sink,
    fixedOutbound,
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    fixedInbound,
    // Structured (JSON) on stderr, at the level `POST /logging` sets.
    onError: (err, context) => logger.log('connection', 'error', context, { error: err instanceof Error ? err.message : String(err) }),
  });
  await ztunnel.start();
  metrics.addHealth(ztunnelHealth(ztunnel, ctx.store));
  // Admin (15000) and Prometheus (15020, 15090) beside readiness on the node's admin address.
  const observability = new RoleObservability(
    ztunnelAdminTarget({ node, ztunnel, store: ctx.store, certs: ctx.certs, metrics, readiness, logger, quit: worker !== undefined ? quitCluster : () => process.kill(process.pid, 'SIGTERM') }),
  );
  if (worker === undefined) await observability.listen(values['admin-address']);
  else if (worker === 1) await observability.admin.listen(values['admin-address']);
  process.stderr.write(`${name}: ready (readiness ${values['admin-address']}:15021, admin :15000, metrics :15020)\n`);
  return serveUntilSignal({
    name,
    readyName: `ztunnel/${node}`,
    drainMs,
    readiness,
    close: async (deadline) => {
      await ztunnel.close(deadline);
      await observability.close(100);
      await ctx.close();
    },
  });
}
