#!/usr/bin/env node
/**
 * `ambient`: one binary, one subcommand per role. Each role lives in `src/commands/<role>.ts`;
 * this file only parses the command line and dispatches.
 *
 * Each command module is imported only when it is the one chosen: a ztunnel must not load the
 * waypoint's filters, routing and Wasm host (nor `up` its roles' code), because every module a
 * process loads stays in its V8 heap as source, bytecode and closures (docs/performance.md,
 * "Session 5: memory").
 */
import { UsageError } from './commands/usage-error.js';

const USAGE = `ambient: an Istio-ambient data plane (waypoint + ztunnel) on Node.js

Usage:
  ambient up [--config DIR] [--state DIR] [--drain-ms N] [--quiet] [--node-subnet 127.3.0]
            [--access-log text|json|off] [--log-level LEVEL] [--concurrency N]
            [--tracing-endpoint URL] [--tracing-sampling PCT]
            [--istio-ztunnel BIN [--istio-ztunnel-nodes A,B]]
      Run the local mesh described by DIR (default: the embedded deploy/local/default):
      one ztunnel per node, each waypoint, and the demo apps, as separate processes.
      Every waypoint and ztunnel serves the admin API on <its address>:15000 and
      Prometheus metrics on <its address>:15020 and :15090 (/stats/prometheus).
      --concurrency N runs every waypoint and ztunnel as N worker processes.
      --tracing-endpoint sends waypoint spans to an OTLP/HTTP collector (URL/v1/traces),
      sampling PCT percent of new traces (default 1).
      --istio-ztunnel BIN serves the pods of every node (or the nodes listed) with Istio's
      own ztunnel, one per pod in its own network namespace, fed by the local istiod
      (root; run inside a private network namespace: docs/istio-ztunnel.md).
  ambient curl --from [NS/]POD [-X METHOD] [-H 'name: value']... [-d DATA] [-i] [-s] URL
      Send an HTTP request from POD through its node's ztunnel (SOCKS5 on <podIP>:15080).
  ambient validate DIR
      Check a config directory; print diagnostics; exit 1 when there are errors.
  ambient ztunnel --node NAME [--config DIR] [--state DIR | --certs DIR] [--admin-address IP]
  ambient waypoint --gateway NS/NAME [--config DIR] [--state DIR | --certs DIR]
            [--tracing-endpoint URL] [--tracing-sampling PCT]
  ambient app --pod NS/NAME [--config DIR]
      Run one role (what 'up' starts for you). --certs DIR takes PEM certificates
      (root-cert.pem, <ns>/<sa>/cert-chain.pem and key.pem) instead of the local CA.
  ambient ztunnel-config workloads|services|policies|certificates|connections|all
            (--admin HOST[:PORT] | --file DUMP.json) [-o short|json]
      What istioctl ztunnel-config shows, from a ztunnel's /config_dump (ours or Istio's).
  ambient waypoint status [--config DIR] [-n NS] [--name NAME]
      Each waypoint: ready on 15021 or not, and the services it fronts (canary shares).
  ambient istiod [--config DIR] [--state DIR] [--address 127.0.0.1:15012] [--cluster-id ID]
      Serve Istio's CA API and workload xDS (delta ADS) over TLS for Istio's own ztunnel.
  ambient ca root [--state DIR]
  ambient ca issue --identity spiffe://TD/ns/NS/sa/SA --out DIR [--state DIR] [--validity-hours N]
  ambient ca token --for pod:NS/NAME|node:NAME|waypoint:NS/NAME [--state DIR]
      Print the mesh root certificate, issue a certificate from the local CA, or print a
      bearer token for the local istiod (docs/istio-ztunnel.md says who may have what).
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return (await import('./commands/up.js')).runUp(rest);
    case 'ztunnel':
      return (await import('./commands/ztunnel.js')).runZtunnel(rest);
    case 'waypoint':
      return rest[0] === 'status'
        ? (await import('./commands/waypoint-status.js')).runWaypointStatus(rest.slice(1))
        : (await import('./commands/waypoint.js')).runWaypoint(rest);
    case 'ztunnel-config':
      return (await import('./commands/ztunnel-config.js')).runZtunnelConfig(rest);
    case 'app':
      return (await import('./commands/app.js')).runApp(rest);
    case 'validate':
      return (await import('./commands/validate.js')).runValidate(rest);
    case 'curl':
      return (await import('./commands/curl.js')).runCurl(rest);
    case 'ca':
      return (await import('./commands/ca.js')).runCa(rest);
    case 'istiod':
      return (await import('./commands/istiod.js')).runIstiod(rest);
    case 'version':
    case '--version':
      process.stdout.write('ambient-waypoint 0.1.0\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`ambient: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}


main(process.argv.slice(2)).then(
  (code) => {
    // A role has drained when its command returns: exit even if a handle (the supervisor's IPC
    // channel, a pooled socket) would keep the event loop alive. stdout/stderr are synchronous
    // for files and pipes on Linux, so nothing written is lost.
    process.exit(code);
  },
  (err: unknown) => {
    if (isUsageMistake(err)) {
      process.stderr.write(`ambient: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`ambient: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    // Exit even if a listener opened before the failure would keep the process alive.
    process.exit(1);
  },
);

/** A UsageError, or a mistyped option from node:util's parseArgs: one line, exit 2. */
function isUsageMistake(err: unknown): err is Error {
  if (err instanceof UsageError) return true;
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
