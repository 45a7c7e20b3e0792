/**
 * `ambient ztunnel --node NAME`: one node's L4 ztunnel. It serves every mesh pod whose
 * `spec.nodeName` is NAME (HBONE in on `<podIP>:15008`, SOCKS5 out on `<podIP>:15080`), and answers
 * readiness on `<admin-address>:15021`.
 */
import { parseArgs } from 'node:util';
import { ReadinessServer } from '../admin/readiness-server.js';
import { notifyReady, runUntilSignal } from '../process/lifecycle.js';
import { Ztunnel } from '../ztunnel/ztunnel.js';
import { DEFAULT_CONFIG_DIR, DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { openRoleContext } from './role-context.js';
import { UsageError } from './usage-error.js';
import { jsonLineSink } from './json-line-sink.js';

export async function runZtunnel(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' },
      config: { type: 'string', default: DEFAULT_CONFIG_DIR },
      state: { type: 'string' },
      'admin-address': { type: 'string', default: '127.0.0.1' },
      'drain-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const node = values.node;
  if (!node) throw new UsageError('ztunnel needs --node NAME');
  const name = `ztunnel ${node}`;
  const drainMs = values['drain-ms'] ? Number(values['drain-ms']) : DEFAULT_DRAIN_MS;
  const ctx = await openRoleContext({ configDir: values.config, stateDir: values.state ?? defaultStateDir(), name });
  const readiness = new ReadinessServer();
  await readiness.listen(values['admin-address']);
  const ztunnel = new Ztunnel({
    node,
    view: ctx.store,
    certs: ctx.certs,
    ...(values.quiet ? {} : { accessLog: jsonLineSink('ztunnel') }),
  });
  await ztunnel.start();
  readiness.setReady();
  process.stderr.write(`${name}: ready (readiness ${values['admin-address']}:15021)\n`);
  notifyReady(`ztunnel/${node}`);
  await runUntilSignal(
    {
      close: async (deadline) => {
        await ztunnel.close(deadline);
        await readiness.close(100);
        await ctx.close();
      },
    },
    { name, drainMs, onDrainStart: () => readiness.setDraining() },
  );
  return 0;
}
