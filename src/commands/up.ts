/**
 * `ambient up` (what `npm start` runs): the whole local mesh from a directory of Kubernetes YAML.
 * It validates the config, creates the mesh CA in the state directory, starts every role as its
 * own process (see `src/runner/desired-processes.ts` for which and in what order), keeps the set of
 * processes in step with config changes, and drains everything on Ctrl-C.
 */
const path = process.getBuiltinModule('node:path');
const { parseArgs } = process.getBuiltinModule('node:util');
import { ISTIOD_PORT } from '../control-plane/istiod-defaults.js';
import { IstioZtunnelNodes } from '../runner/istio-ztunnel-nodes.js';
import { MESH_ROUTER_SUFFIX } from '../runner/pod-netns.js';
import { CERT_LIFETIME_OPTIONS, certLifetimeArgs, parseCertLifetime } from './cert-lifetime-options.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { runUntilSignal } from '../process/lifecycle.js';
import { parseConcurrency } from '../process/worker-cluster.js';
import { desiredProcesses, servedByIstioZtunnel } from '../runner/desired-processes.js';
import { Supervisor } from '../runner/supervisor.js';
import type { MeshView } from '../state/mesh-view.js';
import { SnapshotStore } from '../state/snapshot-store.js';
import { CLI_ENTRY, DEFAULT_CONFIG_DIR, DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { ensureMeshCa } from './role-context.js';
import { parseAccessLogFormat, parseDrainMs, parseLogLevel } from './serve-role.js';
import { parseTracing, TRACING_OPTIONS, tracingArgs } from './tracing-options.js';
import { UsageError } from './usage-error.js';
import { welcomeBanner } from '../runner/welcome-banner.js';

/**
 * Node ztunnels' admin/readiness addresses: `<subnet>.1`, `.2`, ... in the order nodes first
 * appear (default subnet 127.3.0, the node range of ARCHITECTURE.md).
 */
function nodeAddressAllocator(subnet: string): (node: string) => string {
  const assigned = new Map<string, string>();
  return (node) => {
    let a = assigned.get(node);
    if (!a) {
      a = `${subnet}.${assigned.size + 1}`;
      assigned.set(node, a);
    }
    return a;
  };
}

/** The local istiod's host number in the node subnet when Istio's ztunnel runs. */
const ISTIOD_SUFFIX = 250;

export async function runUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG_DIR },
      state: { type: 'string' },
      'drain-ms': { type: 'string' },
      'ready-timeout-ms': { type: 'string', default: '60000' },
      quiet: { type: 'boolean', default: false },
      'access-log': { type: 'string' },
      'log-level': { type: 'string' },
      'node-subnet': { type: 'string', default: '127.3.0' },
      concurrency: { type: 'string' },
      /** Istio's ztunnel binary, run per pod (dedicated mode) instead of ours; docs/istio-ztunnel.md. */
      'istio-ztunnel': { type: 'string' },
      /** Nodes whose pods it serves (comma-separated; default: every node). */
      'istio-ztunnel-nodes': { type: 'string' },
      ...CERT_LIFETIME_OPTIONS,
      ...TRACING_OPTIONS,
    },
  });
  const stateDir = values.state ?? defaultStateDir();
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  // Worker processes per waypoint and ztunnel (src/process/worker-cluster.ts); apps stay single.
  const concurrency = parseConcurrency(values.concurrency);
  if (concurrency === undefined) throw new UsageError('--concurrency must be an integer from 1 to 64');
  const dataPlaneArgs = concurrency > 1 ? ['--concurrency', String(concurrency)] : [];
  const out = (line: string): void => void process.stdout.write(line + '\n');

  const store = await SnapshotStore.open({
    dir: values.config,
    watch: true,
    localRanges: true,
    onDiagnostics: (diags) => {
      for (const d of diags) process.stderr.write(formatDiagnostic(d) + '\n');
    },
  });
  const initial = store.current();
  if (initial.snapshot.workloads.size === 0) {
    await store.close();
    process.stderr.write(`ambient up: no pods in ${values.config}; nothing to run\n`);
    return 1;
  }
  const ca = await ensureMeshCa(stateDir, initial.snapshot.mesh.trustDomain);

  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(values['node-subnet'])) throw new UsageError('--node-subnet must look like 127.3.0');
  const nodeAddress = nodeAddressAllocator(values['node-subnet']);
  let istio: IstioZtunnelNodes | undefined;
  if (values['istio-ztunnel'] !== undefined) {
    const list = values['istio-ztunnel-nodes']?.split(',').map((n) => n.trim()).filter((n) => n !== '');
    try {
      istio = new IstioZtunnelNodes({
        binary: path.resolve(values['istio-ztunnel']),
        nodes: list && list.length > 0 ? new Set(list) : 'all',
        stateDir: path.resolve(stateDir),
        // In the node range, clear of the addresses handed to nodes from .1 upwards.
        istiodAddress: `${values['node-subnet']}.${ISTIOD_SUFFIX}:${ISTIOD_PORT}`,
        routerIp: `${values['node-subnet']}.${MESH_ROUTER_SUFFIX}`,
        ca,
      });
    } catch (err) {
      await store.close();
      throw new UsageError(`--istio-ztunnel: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Children drain within the same deadline the supervisor waits for.
  const extraArgs = [
    '--drain-ms',
    String(drainMs),
    ...(values.quiet ? ['--quiet'] : []),
    // Checked here once so a typo fails `up` rather than every child.
    ...(values['access-log'] !== undefined ? ['--access-log', parseAccessLogFormat(values['access-log'], false)] : []),
    ...(values['log-level'] !== undefined ? ['--log-level', parseLogLevel(values['log-level'])] : []),
    ...certLifetimeArgs(parseCertLifetime(values)),
  ];
  const waypointArgs = tracingArgs(parseTracing(values['tracing-endpoint'], values['tracing-sampling']));
  const specsFor = (view: MeshView) => {
    istio?.sync(view);
    return desiredProcesses(view, { configDir: values.config, stateDir, nodeAddress, extraArgs, waypointArgs, dataPlaneArgs, ...(istio ? { istioZtunnel: istio.plan } : {}) });
  };
  const supervisor = new Supervisor({ entry: CLI_ENTRY, drainMs, out });

  await supervisor.reconcile(specsFor(initial));
  try {
    await supervisor.waitReady(Number(values['ready-timeout-ms']));
  } catch (err) {
    process.stderr.write(`ambient up: ${err instanceof Error ? err.message : String(err)}\n`);
    await supervisor.close();
    istio?.close();
    await store.close();
    return 1;
  }
  out(
    welcomeBanner(store.current(), {
      configDir: values.config,
      stateDir,
      nodeAddress,
      ...(istio ? { istioZtunnel: (w) => (istio && servedByIstioZtunnel(istio.plan, w) ? istio.plan.netnsOf(w) : undefined) } : {}),
    }),
  );

  // Config changes are applied one at a time, in order.
  let reconciling = Promise.resolve();
  const unsubscribe = store.onChange((view) => {
    reconciling = reconciling
      .then(() => supervisor.reconcile(specsFor(view)))
      .catch((err: unknown) => out(`ambient up: reconcile failed: ${String(err)}`));
  });

  await runUntilSignal(
    {
      close: async () => {
        unsubscribe();
        await store.close();
        await reconciling;
        await supervisor.close();
        istio?.close();
      },
    },
    { name: 'ambient up', drainMs },
  );
  return 0;
}
