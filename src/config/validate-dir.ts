/**
 * `ambient validate DIR`: translate every object of a directory exactly as the store would on a
 * fresh start (no last-good history), and report. Exit code 1 when any error was found, 0 when
 * there are only warnings (or nothing).
 */
import { compareDiagnostics, formatDiagnostic, hasErrors } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';
import { translateFile } from './from-k8s/translate.js';
import type { TranslatedObject } from './from-k8s/translator.js';
import { buildSnapshot } from './snapshot-builder.js';
import type { Snapshot } from './ir.js';
import { LocalDirSource } from '../sources/local-dir.js';

export interface ValidateOptions {
  /** Enforce the local-mesh address ranges (design §4). Default true. */
  readonly localRanges?: boolean;
}

export interface ValidateResult {
  readonly diagnostics: readonly Diagnostic[];
  readonly exitCode: 0 | 1;
  /** The snapshot the directory would produce (absent when the directory cannot be read). */
  readonly snapshot?: Snapshot;
}

export async function validateDir(dir: string, opts: ValidateOptions = {}): Promise<ValidateResult> {
  let source: LocalDirSource;
  try {
    source = await LocalDirSource.open(dir, { watch: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { diagnostics: [{ severity: 'error', code: 'FILE_UNREADABLE', file: dir, message }], exitCode: 1 };
  }
  try {
    const ctx = { localRanges: opts.localRanges ?? true };
    const diagnostics: Diagnostic[] = [];
    const objects: TranslatedObject[] = [];
    for (const [file, state] of source.files()) {
      if ('error' in state) {
        diagnostics.push({ severity: 'error', code: 'FILE_UNREADABLE', file, message: state.error });
        continue;
      }
      const t = translateFile(file, state.text, ctx);
      diagnostics.push(...t.diagnostics);
      for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
    }
    const built = buildSnapshot(objects, 1);
    diagnostics.push(...built.diagnostics);
    diagnostics.sort(compareDiagnostics);
    return { diagnostics, exitCode: hasErrors(diagnostics) ? 1 : 0, snapshot: built.snapshot };
  } finally {
    await source.close();
  }
}

/** The report `ambient validate` prints: one line per diagnostic, then a summary line. */
export function formatValidation(result: ValidateResult): string {
  const lines = result.diagnostics.map(formatDiagnostic);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = result.diagnostics.length - errors;
  const s = result.snapshot;
  const counts = s
    ? `; ${s.workloads.size} workload(s), ${s.services.size} service(s), ${s.waypoints.size} waypoint(s), ${s.l4Policies.length} L4 policy(ies)`
    : '';
  lines.push(`${errors} error(s), ${warnings} warning(s)${counts}`);
  return `${lines.join('\n')}\n`;
}
