/**
 * A role (`ambient waypoint`, `ambient ztunnel`...) run as its own process, as users run it: the
 * compiled CLI with the given arguments, its stderr kept for assertion messages, ready once its
 * readiness endpoint answers 200, and stopped with SIGTERM (waiting for the exit).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eventually } from './eventually.js';
import { httpText } from './http-text.js';
import { REPO_ROOT } from './relocated-config.js';

export { httpText };

export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

export interface RoleProcess {
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then the exit code (immediately if it already exited). */
  stop(): Promise<number | null>;
}

/**
 * Spawns the CLI and waits until `readiness` (`host:port` of /healthz/ready) answers 200. `env` is
 * added to the test's environment (the downward-API variables a pod would have).
 */
export async function startRole(args: readonly string[], readiness: { host: string; port: number }, timeoutMs = 30_000, env: Readonly<Record<string, string>> = {}): Promise<RoleProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const role: RoleProcess = {
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  try {
    await eventually(async () => {
      const r = await httpText(readiness.host, readiness.port, '/healthz/ready').catch(() => ({ status: 0, body: '' }));
      assert.equal(r.status, 200, stderr);
    }, timeoutMs);
  } catch (err) {
    await role.stop();
    throw err;
  }
  return role;
}

/** Per-worker values of an `ambient_worker_*{worker="i"}` series in a Prometheus exposition. */
export function workerCounts(metrics: string, series: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(new RegExp(`^${series}\\{worker="(\\d+)"\\} (\\d+)`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
  return out;
}
