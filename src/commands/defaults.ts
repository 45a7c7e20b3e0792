/**
 * Where the CLI finds things when not told: the embedded default mesh under `deploy/local/default`
 * (shipped with the package, so `npm start` works from a fresh clone) and a state directory for
 * the local CA (`./.ambient`, or `$AMBIENT_STATE_DIR`).
 */
const path = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');

/** The package root: this file is `dist/src/commands/defaults.js` once built. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const DEFAULT_CONFIG_DIR = path.join(PACKAGE_ROOT, 'deploy', 'local', 'default');

/** The CLI entry, for the runner to start roles as child processes. */
export const CLI_ENTRY = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');

export function defaultStateDir(): string {
  return process.env['AMBIENT_STATE_DIR'] ?? path.resolve('.ambient');
}

/** How long a role drains in-flight work on SIGTERM before it forces connections closed. */
export const DEFAULT_DRAIN_MS = 5000;
