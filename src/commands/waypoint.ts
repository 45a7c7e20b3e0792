/**
 * `ambient waypoint --gateway NS/NAME`: one waypoint. It listens for HBONE on each of the Gateway's
 * addresses (`:15008`), serves the Services bound to it, and answers readiness on
 * `<first address>:15021`.
 */
import { parseArgs } from 'node:util';
import { ReadinessServer } from '../admin/readiness-server.js';
import { Waypoint } from '../waypoint/waypoint.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { jsonLineSink } from './json-line-sink.js';
import { openRoleContext } from './role-context.js';
import { parseDrainMs, ROLE_OPTIONS, serveUntilSignal } from './serve-role.js';
import { UsageError } from './usage-error.js';

export async function runWaypoint(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...ROLE_OPTIONS, gateway: { type: 'string' } } });
  const ref = values.gateway;
  if (!ref || !ref.includes('/')) throw new UsageError('waypoint needs --gateway NAMESPACE/NAME');
  const [namespace = '', gwName = ''] = ref.split('/', 2);
  const name = `waypoint ${ref}`;
  const drainMs = parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS);
  const ctx = await openRoleContext({ configDir: values.config, stateDir: values.state ?? defaultStateDir(), name, ...(values.certs ? { certsDir: values.certs } : {}) });
  const wp = ctx.store.current().waypoint(namespace, gwName);
  if (!wp) {
    await ctx.close();
    throw new UsageError(`no waypoint Gateway ${ref} in ${values.config}`);
  }
  const readiness = new ReadinessServer();
  await readiness.listen(wp.addresses[0] ?? '127.0.0.1');
  const waypoint = new Waypoint({
    waypoint: { namespace, name: gwName },
    view: ctx.store,
    certs: ctx.certs,
    ...(values.quiet ? {} : { accessLog: jsonLineSink('waypoint') }),
  });
  await waypoint.start();
  process.stderr.write(`${name}: ready on ${wp.addresses.map((a) => `${a}:${wp.hbonePort}`).join(', ')}\n`);
  return serveUntilSignal({
    name,
    readyName: `waypoint/${ref}`,
    drainMs,
    readiness,
    close: async (deadline) => {
      await waypoint.close(deadline);
      await ctx.close();
    },
  });
}
