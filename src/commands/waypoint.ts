/**
 * `ambient waypoint --gateway NS/NAME`: one waypoint. It listens for HBONE on each of the Gateway's
 * addresses (`:15008`), or on the pod's IP / a wildcard (`--bind`, see waypoint-options.ts), serves
 * the Services bound to it, and answers readiness on `<first address>:15021`, the admin API on
 * `:15000` and Prometheus on `:15020`/`:15090` there (admin on `--admin-address` when `--bind` is used).
 */
const cluster = process.getBuiltinModule('node:cluster') as unknown as typeof import('node:cluster').default;
import { registerSecurityStats } from '../telemetry/security-stats.js';
import { ReadinessServer } from '../admin/readiness-server.js';
import { RoleObservability } from '../admin/role-observability.js';
import { waypointAdminTarget, waypointHealth } from '../admin/waypoint-admin.js';
import { followAccessLogPolicy } from '../telemetry/access-log-policy.js';
import { followMetricsPolicy } from '../telemetry/metrics-policy.js';
import { SpanExportStats } from '../telemetry/span-exporter.js';
import { followTracingPolicy } from '../telemetry/tracing-policy.js';
import { registerTracingStats } from '../telemetry/tracing-stats.js';
import { WaypointTracer, waypointSpanIdentity } from '../telemetry/waypoint-tracer.js';
import { LOG_LEVELS, Logger } from '../telemetry/logger.js';
import { LOG_LEVEL_NAMES } from '../wasm/abi.js';
import { ProxyMetrics } from '../telemetry/metrics.js';
import { WaypointTelemetry } from '../telemetry/waypoint-telemetry.js';
import { Waypoint } from '../waypoint/waypoint.js';
import { parseConcurrency, quitCluster, runWorkerCluster, serveMetricsToPrimary, workerIndex } from '../process/worker-cluster.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { configGate, openControlPlane, waitForControlPlane } from './control-plane-options.js';
import { parseCertLifetime } from './cert-lifetime-options.js';
import { openRoleContext } from './role-context.js';
import { parseAccessLogFormat, parseDrainMs, parseLogLevel, parseMaxConnections, serveUntilSignal } from './serve-role.js';
import { parseTracing } from './tracing-options.js';
import { configDirFor } from './cluster-config-dir.js';
import { formatAuthority } from '../hbone/authority.js';
import { gatewayRef, parseWaypointArgs, waypointBind } from './waypoint-options.js';
import { ADMIN_PORT } from '../admin/admin-server.js';
import { TraceHub } from '../admin/debug-trace.js';
import { DEFAULT_OBSERVABILITY_PORTS } from '../admin/role-observability.js';
import { UsageError } from './usage-error.js';
import { applyDataPlaneV8Flags } from '../runner/role-node-flags.js';

export async function runWaypoint(argv: string[]): Promise<number> {
  applyDataPlaneV8Flags();
  const values = parseWaypointArgs(argv);
  const { namespace, name: gwName } = gatewayRef(values);
  const ref = `${namespace}/${gwName}`;
  const bind = waypointBind(values.bind, values['admin-address']);
  const concurrency = parseConcurrency(values.concurrency);
  if (concurrency === undefined) throw new UsageError('--concurrency must be an integer from 1 to 64');
  // In a --concurrency worker, readiness and Prometheus belong to the primary (src/process/worker-cluster.ts).
  const worker = workerIndex();
  const name = `waypoint ${ref}${worker !== undefined ? ` [worker ${worker}]` : ''}`;
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  const certLifetime = parseCertLifetime(values);
  const maxConnections = parseMaxConnections(values['max-connections']);
  const bufferLimit = values['buffer-limit-bytes'];
  const bufferLimitBytes = bufferLimit === undefined ? undefined : Number(bufferLimit);
  if (bufferLimitBytes !== undefined && (!Number.isInteger(bufferLimitBytes) || bufferLimitBytes < 1)) throw new UsageError('--buffer-limit-bytes must be a positive integer');
  // Envoy's HCM `idle_timeout` for tunnels carrying HTTP (default 1 h, src/waypoint/http-limits.ts).
  const idle = values['idle-timeout-ms'];
  const idleTimeoutMs = idle === undefined ? undefined : Number(idle);
  if (idleTimeoutMs !== undefined && (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs < 1)) throw new UsageError('--idle-timeout-ms must be a positive integer');
  const tracing = parseTracing(values['tracing-endpoint'], values['tracing-sampling']);
  const controlPlane = await openControlPlane(values, { kind: 'waypoint', waypoint: { namespace, name: gwName } });
  const stateDir = values.state ?? defaultStateDir();
  const configDir = configDirFor(values.config, controlPlane.sources.length > 0, stateDir);
  const ctx = await openRoleContext({ configDir, stateDir, name, controlPlane, certLifetime, ...(values.certs ? { certsDir: values.certs } : {}) });
  // The Gateway may come from the Kubernetes API or xDS rather than the files: wait for the first config.
  if (!ctx.store.current().waypoint(namespace, gwName) && controlPlane.sources.length > 0) {
    await waitForControlPlane(controlPlane.sources, () => ctx.store.current().waypoint(namespace, gwName) !== undefined, 30_000);
  }
  const wp = ctx.store.current().waypoint(namespace, gwName);
  if (!wp) {
    await ctx.close();
    throw new UsageError(`no waypoint Gateway ${ref} in ${controlPlane.sources.length > 0 ? controlPlane.description : configDir}`);
  }
  // `--address A` (repeatable): run as one replica serving only those of the Gateway's addresses.
  const only = values.address;
  const unknown = only?.find((a) => !wp.addresses.includes(a));
  if (unknown !== undefined || (only && bind.kind !== 'gateway')) {
    await ctx.close();
    throw new UsageError(only && bind.kind !== 'gateway' ? '--address selects Gateway addresses: use it with --bind gateway' : `--address ${unknown} is not an address of Gateway ${ref}`);
  }
  if (bind.kind === 'gateway' && wp.addresses.length === 0) {
    await ctx.close();
    throw new UsageError(`Gateway ${ref} has no IP address to bind (${(wp.hostnames ?? []).join(', ')}): run with --bind instance-ip (INSTANCE_IP) or --bind wildcard`);
  }
  const listenOn = bind.kind === 'addresses' ? bind.addresses : (only ?? wp.addresses);
  const host = listenOn[0] ?? '127.0.0.1';
  // The admin API is local to the pod outside the local mesh (Envoy's admin in Istio's proxies).
  const adminHost = bind.kind === 'addresses' ? bind.adminHost : host;
  if (concurrency > 1 && !cluster.isWorker) {
    await ctx.close();
    return runWorkerCluster({ name, readyName: `waypoint/${ref}`, concurrency, drainMs, host });
  }
  // Flags are the default; the mesh config and Telemetry API decide per view (tracing-policy.ts).
  const tracer = new WaypointTracer({ identity: waypointSpanIdentity(namespace, gwName, host) });
  const spanStats = new SpanExportStats();
  const stopTracing = followTracingPolicy(ctx.store, { namespace, name: gwName }, tracer, tracing, `${gwName}.${namespace}`, spanStats);
  const readiness = new ReadinessServer();
  readiness.gateOnConfig(configGate(controlPlane.sources));
  if (worker === undefined) await readiness.listen(host);
  const metrics = new ProxyMetrics({ processMetrics: true });
  if (worker !== undefined) serveMetricsToPrimary(metrics);
  const logLevel = parseLogLevel(values['log-level']);
  const logger = new Logger({ level: logLevel });
  const accessLogFormat = parseAccessLogFormat(values['access-log'], values.quiet);
  // `/debug/trace` hangs off the record sink, fed only while someone listens (off by default).
  const traceHub = values['debug-trace'] ? new TraceHub() : undefined;
  if (traceHub) traceHub.registerInto(metrics.registry);
  const telemetry = new WaypointTelemetry({ metrics, view: ctx.store, format: accessLogFormat, ...(traceHub ? { also: traceHub.publish } : {}) });
  // Telemetry API `accessLogging` overrides the flag (the mesh default), except under --quiet.
  const stopPolicy = values.quiet ? undefined : followAccessLogPolicy(ctx.store, { namespace, name: gwName }, telemetry, accessLogFormat);
  // Telemetry API `metrics` overrides (disabled metrics, tags removed or added), merged down the hierarchy.
  const stopMetricsPolicy = followMetricsPolicy(ctx.store, { namespace, name: gwName }, metrics);
  const waypoint = new Waypoint({
    waypoint: { namespace, name: gwName },
    view: ctx.store,
    certs: ctx.certs,
    accessLog: telemetry.sink,
    tracer,
    // Plugin logs join the proxy log under scope `wasm`, tagged with the plugin (Envoy: `wasm log <plugin>`).
    wasm: {
      log: (level, plugin, msg) => logger.log('wasm', LOG_LEVEL_NAMES[level] ?? 'info', msg, { plugin }),
      logLevel: Math.min(5, Math.max(0, LOG_LEVELS.indexOf(logLevel))),
    },
    ...(only ? { onlyAddresses: only } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(bufferLimitBytes !== undefined ? { bufferLimitBytes } : {}),
    ...(idleTimeoutMs !== undefined ? { httpLimits: { idleTimeoutMs } } : {}),
    ...(bind.kind === 'addresses' ? { bindAddresses: bind.addresses } : {}),
    ...((values['connect-baggage'] ?? process.env['AMBIENT_ENABLE_BAGGAGE'] === 'true') ? { connectBaggage: true } : {}),
    // Structured (JSON) on stderr, at the level `POST /logging` sets.
    onError: (err, context) => logger.log('connection', 'error', context, { error: err instanceof Error ? err.message : String(err) }),
  });
  await waypoint.start();
  // Metrics plugins define are scraped with the proxy's own (/stats/prometheus).
  waypoint.wasm.metrics.registerInto(metrics.registry);
  metrics.addHealth(waypointHealth(waypoint, ctx.store));
  if (waypoint.security) registerSecurityStats(metrics.registry, waypoint.security);
  registerTracingStats(metrics.registry, spanStats);
  // Admin (15000) and Prometheus (15020, 15090) on the waypoint's own address: see ARCHITECTURE.md.
  const observability = new RoleObservability(
    waypointAdminTarget({
      ref: { namespace, name: gwName },
      waypoint,
      store: ctx.store,
      certs: ctx.certs,
      metrics,
      readiness,
      logger,
      ...(traceHub ? { debugTrace: traceHub } : {}),
      quit: worker !== undefined ? quitCluster : () => process.kill(process.pid, 'SIGTERM'),
    }),
  );
  if (worker === undefined) {
    await observability.admin.listen(adminHost, ADMIN_PORT);
    await observability.prometheus.listen(host, DEFAULT_OBSERVABILITY_PORTS.metrics);
  } else if (worker === 1) await observability.admin.listen(adminHost);
  process.stderr.write(`${name}: config from ${controlPlane.description}\n`);
  process.stderr.write(`${name}: ready on ${listenOn.map((a) => `${formatAuthority(a, wp.hbonePort)}`).join(', ')}${bind.kind === 'addresses' ? ` (--bind ${values.bind}; Gateway addresses ${[...wp.addresses, ...(wp.hostnames ?? [])].join(', ')})` : ''}\n`);
  return serveUntilSignal({
    name,
    readyName: `waypoint/${ref}`,
    drainMs,
    readiness,
    close: async (deadline) => {
      await waypoint.close(deadline);
      // Spans of the last requests still go out, within a short bound.
      await stopTracing(500);
      await observability.close(100);
      stopPolicy?.();
      stopMetricsPolicy();
      await ctx.close();
    },
  });
}
