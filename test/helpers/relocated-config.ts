/**
 * Copies a config directory (by default the embedded default mesh, deploy/local/default) to a temp
 * directory with every local-range address moved into this test file's own block, so tests run
 * the same YAML users run, without colliding with each other or a running `npm start`.
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressBlock } from './addresses.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_MESH_DIR = path.join(REPO_ROOT, 'deploy', 'local', 'default');

export interface RelocatedConfig {
  readonly dir: string;
  /** Rewrites one file of the copy (for config-change tests). */
  write(name: string, yaml: string): void;
  read(name: string): string;
  remove(): void;
}

/** `127.<r>.0.<h>` in the source becomes the block's address for range r and host h. */
export function relocate(text: string, block: AddressBlock): string {
  return text.replace(/\b127\.(1|2|3|100)\.0\.(\d{1,3})\b/g, (m: string, range: string, host: string) => {
    const n = Number(host);
    if (n === 0) return m; // a range in a comment (127.1.0.0/16), not an address
    switch (range) {
      case '1':
        return block.pod(n);
      case '2':
        return block.waypoint(n);
      case '3':
        return block.node(n);
      default:
        return block.vip(n);
    }
  });
}

export function relocatedConfig(block: AddressBlock, sourceDir = DEFAULT_MESH_DIR): RelocatedConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ambient-mesh-'));
  for (const name of readdirSync(sourceDir)) {
    if (!/\.ya?ml$/.test(name)) continue;
    writeFileSync(path.join(dir, name), relocate(readFileSync(path.join(sourceDir, name), 'utf8'), block));
  }
  return {
    dir,
    // Write then rename: the watcher must never read a half-written file (a truncated YAML can
    // still parse, as a different config than the test meant). Dot-files are not config.
    write: (name, yaml) => {
      const tmp = path.join(dir, `.${name}.tmp`);
      writeFileSync(tmp, relocate(yaml, block));
      renameSync(tmp, path.join(dir, name));
    },
    read: (name) => readFileSync(path.join(dir, name), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
