/**
 * `ambient ztunnel --node NAME`: one node's L4 ztunnel. It serves every mesh pod whose
 * `spec.nodeName` is NAME (HBONE in on `<podIP>:15008`, SOCKS5 out on `<podIP>:15080`), and answers
 * readiness on `<admin-address>:15021`.
 */
import { parseArgs } from 'node:util';
import { ReadinessServer } from '../admin/readiness-server.js';
import { Ztunnel } from '../ztunnel/ztunnel.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { jsonLineSink } from './json-line-sink.js';
import { openRoleContext } from './role-context.js';
import { parseDrainMs, ROLE_OPTIONS, serveUntilSignal } from './serve-role.js';
import { UsageError } from './usage-error.js';

export async function runZtunnel(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...ROLE_OPTIONS, node: { type: 'string' }, 'admin-address': { type: 'string', default: '127.0.0.1' } },
  });
  const node = values.node;
  if (!node) throw new UsageError('ztunnel needs --node NAME');
  const name = `ztunnel ${node}`;
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  const ctx = await openRoleContext({ configDir: values.config, stateDir: values.state ?? defaultStateDir(), name, ...(values.certs ? { certsDir: values.certs } : {}) });
  const readiness = new ReadinessServer();
  await readiness.listen(values['admin-address']);
  const ztunnel = new Ztunnel({
    node,
    view: ctx.store,
    certs: ctx.certs,
    ...(values.quiet ? {} : { accessLog: jsonLineSink('ztunnel') }),
  });
  await ztunnel.start();
  process.stderr.write(`${name}: ready (readiness ${values['admin-address']}:15021)\n`);
  return serveUntilSignal({
    name,
    readyName: `ztunnel/${node}`,
    drainMs,
    readiness,
    close: async (deadline) => {
      await ztunnel.close(deadline);
      await ctx.close();
    },
  });
}
