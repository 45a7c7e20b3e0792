/**
 * The tail every long-running mesh role shares: readiness flips to 200, the supervisor hears
 * `ready`, then the role serves until a signal and drains (readiness 503 first, then the
 * component, then the readiness server itself).
 */
import type { ReadinessServer } from '../admin/readiness-server.js';
import { notifyReady, runUntilSignal } from '../process/lifecycle.js';
import { CERT_LIFETIME_OPTIONS } from './cert-lifetime-options.js';
import { DEFAULT_CONFIG_DIR } from './defaults.js';
import { UsageError } from './usage-error.js';
import type { AccessLogFormat } from '../telemetry/access-log.js';
import { ACCESS_LOG_FORMATS, isAccessLogFormat } from '../telemetry/access-log.js';
import type { LogLevel } from '../telemetry/logger.js';
import { isLogLevel, LOG_LEVELS } from '../telemetry/logger.js';

/** Command-line options every role accepts. */
export const ROLE_OPTIONS = {
  config: { type: 'string', default: DEFAULT_CONFIG_DIR },
  state: { type: 'string' },
  /** PEM certificates instead of the local CA: `root-cert.pem` and `<ns>/<sa>/{cert-chain,key}.pem`. */
  certs: { type: 'string' },
  'drain-ms': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  /** Access-log lines on stdout: `text` (Istio's default Envoy format), `json`, or `off`. */
  'access-log': { type: 'string', default: 'text' },
  /** Level of the structured log (stderr) at start; changeable with the admin API's `POST /logging?level=`. */
  'log-level': { type: 'string', default: 'info' },
  /** Open HBONE connections kept by the role's HBONE listeners; more are closed on accept (default unlimited, as Envoy). */
  'max-connections': { type: 'string' },
  ...CERT_LIFETIME_OPTIONS,
} as const;

/** `--access-log`, with `--quiet` meaning off. */
export function parseAccessLogFormat(value: string | undefined, quiet: boolean | undefined): AccessLogFormat {
  if (quiet) return 'off';
  const v = value ?? 'text';
  if (!isAccessLogFormat(v)) throw new UsageError(`--access-log must be one of ${ACCESS_LOG_FORMATS.join(', ')}`);
  return v;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const v = value ?? 'info';
  if (!isLogLevel(v)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return v;
}

export function parseDrainMs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError('--drain-ms must be a non-negative number');
  return n;
}

/** `--max-connections N`: undefined when absent (unlimited). */
export function parseMaxConnections(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-connections must be a positive integer');
  return n;
}

export interface ServedRole {
  /** For log lines: `ztunnel node-a`. */
  readonly name: string;
  /** For the supervisor: `ztunnel/node-a`. */
  readonly readyName: string;
  readonly drainMs: number;
  readonly readiness: ReadinessServer;
  /** Drains the component and releases what it holds (config watch, certificates). */
  close(deadlineMs: number): Promise<void>;
}

export async function serveUntilSignal(role: ServedRole): Promise<number> {
  role.readiness.setReady();
  notifyReady(role.readyName);
  await runUntilSignal(
    {
      close: async (deadline) => {
        await role.close(deadline);
        await role.readiness.close(100);
      },
    },
    { name: role.name, drainMs: role.drainMs, onDrainStart: () => role.readiness.setDraining() },
  );
  return 0;
}
