/**
 * `ambient app --pod NS/NAME`: runs a pod's built-in demo app (today: `echo`) on
 * `<podIP>:<containerPort>` for each of its ports. A port named `tcp*` is a raw TCP echo.
 */
const { parseArgs } = process.getBuiltinModule('node:util');
import { EchoServer } from '../apps/echo-server.js';
import { notifyReady, runUntilSignal } from '../process/lifecycle.js';
import { SnapshotStore } from '../state/snapshot-store.js';
import { DEFAULT_DRAIN_MS } from './defaults.js';
import { parseDrainMs, ROLE_OPTIONS } from './serve-role.js';
import { UsageError } from './usage-error.js';

export async function runApp(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...ROLE_OPTIONS, pod: { type: 'string' } },
  });
  const ref = values.pod;
  if (!ref || !ref.includes('/')) throw new UsageError('app needs --pod NAMESPACE/NAME');
  const [namespace, name] = ref.split('/', 2);
  const store = await SnapshotStore.open({ dir: values.config, watch: true, localRanges: true });
  const pod = [...store.current().snapshot.workloads.values()].find((w) => w.namespace === namespace && w.name === name);
  if (!pod?.demoApp) {
    await store.close();
    throw new UsageError(`pod ${ref} has no built-in app in ${values.config}`);
  }
  const servers = pod.demoApp.ports.map(
    (port) =>
      new EchoServer({
        pod: ref,
        host: pod.ip,
        port,
        tcp: pod.containerPorts.some((cp) => cp.port === port && (cp.name ?? '').startsWith('tcp')),
        view: store,
      }),
  );
  for (const s of servers) await s.start();
  process.stderr.write(`app ${ref}: echo listening on ${pod.demoApp.ports.map((p) => `${pod.ip}:${p}`).join(', ')}\n`);
  notifyReady(`app/${ref}`);
  await runUntilSignal(
    {
      close: async (deadline) => {
        await store.close();
        await Promise.all(servers.map((s) => s.close(deadline)));
      },
    },
    { name: `app ${ref}`, drainMs: parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS) },
  );
  return 0;
}
