/**
 * `ambient waypoint --gateway NS/NAME`: one waypoint. It listens for HBONE on each of the Gateway's
 * addresses (`:15008`), serves the Services bound to it, and answers readiness on
 * `<first address>:15021`, the admin API on `:15000` and Prometheus on `:15020`/`:15090` there.
 */
import { parseArgs } from 'node:util';
import { ReadinessServer } from '../admin/readiness-server.js';
import { RoleObservability } from '../admin/role-observability.js';
import { waypointAdminTarget, waypointHealth } from '../admin/waypoint-admin.js';
import { followAccessLogPolicy } from '../telemetry/access-log-policy.js';
import { Logger } from '../telemetry/logger.js';
import { ProxyMetrics } from '../telemetry/metrics.js';
import { WaypointTelemetry } from '../telemetry/waypoint-telemetry.js';
import { Waypoint } from '../waypoint/waypoint.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { openRoleContext } from './role-context.js';
import { parseAccessLogFormat, parseDrainMs, parseLogLevel, ROLE_OPTIONS, serveUntilSignal } from './serve-role.js';
import { parseTracing, TRACING_OPTIONS, waypointTracer } from './tracing-options.js';
import { UsageError } from './usage-error.js';

export async function runWaypoint(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...ROLE_OPTIONS, ...TRACING_OPTIONS, gateway: { type: 'string' }, address: { type: 'string', multiple: true } } });
  const ref = values.gateway;
  if (!ref || !ref.includes('/')) throw new UsageError('waypoint needs --gateway NAMESPACE/NAME');
  const [namespace = '', gwName = ''] = ref.split('/', 2);
  const name = `waypoint ${ref}`;
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  const tracing = parseTracing(values['tracing-endpoint'], values['tracing-sampling']);
  const ctx = await openRoleContext({ configDir: values.config, stateDir: values.state ?? defaultStateDir(), name, ...(values.certs ? { certsDir: values.certs } : {}) });
  const wp = ctx.store.current().waypoint(namespace, gwName);
  if (!wp) {
    await ctx.close();
    throw new UsageError(`no waypoint Gateway ${ref} in ${values.config}`);
  }
  // `--address A` (repeatable): run as one replica serving only those of the Gateway's addresses.
  const only = values.address;
  const unknown = only?.find((a) => !wp.addresses.includes(a));
  if (unknown !== undefined) {
    await ctx.close();
    throw new UsageError(`--address ${unknown} is not an address of Gateway ${ref}`);
  }
  const host = only?.[0] ?? wp.addresses[0] ?? '127.0.0.1';
  const tracer = tracing ? waypointTracer(tracing, namespace, gwName, host) : undefined;
  const readiness = new ReadinessServer();
  await readiness.listen(host);
  const metrics = new ProxyMetrics({ processMetrics: true });
  const logger = new Logger({ level: parseLogLevel(values['log-level']) });
  const accessLogFormat = parseAccessLogFormat(values['access-log'], values.quiet);
  const telemetry = new WaypointTelemetry({ metrics, view: ctx.store, format: accessLogFormat });
  // Telemetry API `accessLogging` overrides the flag (the mesh default), except under --quiet.
  const stopPolicy = values.quiet ? undefined : followAccessLogPolicy(ctx.store, { namespace, name: gwName }, telemetry, accessLogFormat);
  const waypoint = new Waypoint({
    waypoint: { namespace, name: gwName },
    view: ctx.store,
    certs: ctx.certs,
    accessLog: telemetry.sink,
    ...(only ? { onlyAddresses: only } : {}),
    ...(tracer ? { tracer } : {}),
    // Structured (JSON) on stderr, at the level `POST /logging` sets.
    onError: (err, context) => logger.log('connection', 'error', context, { error: err instanceof Error ? err.message : String(err) }),
  });
  await waypoint.start();
  metrics.addHealth(waypointHealth(waypoint, ctx.store));
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
      quit: () => process.kill(process.pid, 'SIGTERM'),
    }),
  );
  await observability.listen(host);
  process.stderr.write(`${name}: ready on ${(only ?? wp.addresses).map((a) => `${a}:${wp.hbonePort}`).join(', ')}\n`);
  return serveUntilSignal({
    name,
    readyName: `waypoint/${ref}`,
    drainMs,
    readiness,
    close: async (deadline) => {
      await waypoint.close(deadline);
      // Spans of the last requests still go out, within a short bound.
      await tracer?.exporter.close(500);
      await observability.close(100);
      stopPolicy?.();
      await ctx.close();
    },
  });
}
