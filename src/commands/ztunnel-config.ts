/**
 * `ambient ztunnel-config workloads|services|policies|certificates|connections|all`: what
 * `istioctl ztunnel-config` shows, read from a ztunnel's admin `/config_dump` (`--admin`) or a
 * saved dump (`--file`, `-` for stdin) — ours or Istio's ztunnel, the shape is the same.
 */
const { readFileSync } = process.getBuiltinModule('node:fs');
const { parseArgs } = process.getBuiltinModule('node:util');
import { ADMIN_PORT } from '../admin/admin-server.js';
import { adminBase, getPage } from './admin-fetch.js';
import { UsageError } from './usage-error.js';
import { readZtunnelDump } from './ztunnel-config/dump-reader.js';
import type { ZtunnelConfigKind } from './ztunnel-config/views.js';
import { renderView, ZTUNNEL_CONFIG_KINDS } from './ztunnel-config/views.js';

const SECTION: Record<ZtunnelConfigKind, string | undefined> = {
  workloads: 'workloads',
  services: 'services',
  policies: 'policies',
  certificates: 'certificates',
  connections: 'workloadState',
  all: undefined,
};

export async function runZtunnelConfig(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      admin: { type: 'string' },
      file: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o', default: 'short' },
    },
  });
  const kind = positionals[0] as ZtunnelConfigKind | undefined;
  if (!kind || !ZTUNNEL_CONFIG_KINDS.includes(kind)) throw new UsageError(`ztunnel-config needs one of ${ZTUNNEL_CONFIG_KINDS.join('|')}`);
  if ((values.admin === undefined) === (values.file === undefined)) throw new UsageError('ztunnel-config needs --admin HOST[:PORT] (a ztunnel admin API) or --file DUMP.json');
  if (values.output !== 'short' && values.output !== 'json') throw new UsageError('--output is short or json');
  let text: string;
  if (values.file !== undefined) {
    text = readFileSync(values.file === '-' ? 0 : values.file, 'utf8');
  } else {
    const page = await getPage(`${adminBase(values.admin ?? '', ADMIN_PORT)}/config_dump`);
    if (page.status !== 200) {
      process.stderr.write(`ambient: config_dump answered ${page.status}\n`);
      return 1;
    }
    text = page.body;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    process.stderr.write(`ambient: the config dump is not JSON: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (values.output === 'json') {
    const section = SECTION[kind];
    const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    process.stdout.write(`${JSON.stringify(section ? (obj[section] ?? null) : raw, null, 4)}\n`);
    return 0;
  }
  process.stdout.write(renderView(kind, readZtunnelDump(raw)));
  return 0;
}
