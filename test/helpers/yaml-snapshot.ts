/**
 * YAML documents → a snapshot and every diagnostic, through the real translators and snapshot
 * builder (what the local directory source does, minus the files). For unit tests of anything
 * that reads a snapshot.
 */
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { Snapshot } from '../../src/config/ir.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';

export interface YamlSnapshot {
  readonly snapshot: Snapshot;
  readonly diagnostics: Diagnostic[];
}

/** Each document as its own file (`f0.yaml`, `f1.yaml`...), or named files in order. */
export function snapshotFromYaml(docs: readonly string[] | readonly (readonly [string, string])[], localRanges = true): YamlSnapshot {
  const objects: TranslatedObject[] = [];
  const diagnostics: Diagnostic[] = [];
  docs.forEach((d, i) => {
    const [name, text] = typeof d === 'string' ? [`f${i}.yaml`, d] : d;
    const t = translateFile(name, text, { localRanges });
    diagnostics.push(...t.diagnostics);
    for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  });
  const b = buildSnapshot(objects, 1);
  diagnostics.push(...b.diagnostics);
  return { snapshot: b.snapshot, diagnostics };
}
