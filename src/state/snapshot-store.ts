/**
 * The snapshot store: a directory of Kubernetes YAML → the current {@link MeshView}, rebuilt on
 * every change, with last-good semantics like an xDS NACK of a single resource:
 * - a bad object is rejected alone and the rest applies;
 * - an object that was good before and is bad now keeps serving its previous good version;
 * - a file that is not valid YAML (or cannot be read) keeps all of its previous objects;
 * - in address conflicts and duplicates, objects that did not change win over changed ones, so an
 *   edit cannot knock out a serving object;
 * - a rebuild with no effective change (comments, reordering) keeps the current snapshot and
 *   generation and notifies nobody.
 * Snapshots are frozen; the generation grows by one per accepted change.
 */
import { compareDiagnostics } from '../config/diagnostics.js';
import type { Diagnostic } from '../config/diagnostics.js';
import { fingerprint } from '../config/fingerprint.js';
import { translateFile } from '../config/from-k8s/translate.js';
import { standInDiagnostic } from '../config/from-k8s/policy-stand-ins.js';
import type { FileTranslation } from '../config/from-k8s/translate.js';
import type { TranslateContext, TranslatedObject } from '../config/from-k8s/translator.js';
import { buildSnapshot } from '../config/snapshot-builder.js';
import type { BuildResult } from '../config/snapshot-builder.js';
import { LocalDirSource } from '../sources/local-dir.js';
import { MeshView } from './mesh-view.js';
import type { ObjectSource } from './object-source.js';
import type { ViewSource } from './view-source.js';

export interface SnapshotStoreOptions {
  readonly dir: string;
  /** Watch the directory and apply changes as they happen. */
  readonly watch: boolean;
  /** Enforce the local-mesh address ranges (design §4). Default true. */
  readonly localRanges?: boolean;
  /** Called with the full diagnostic list after the initial load and after every rebuild. */
  readonly onDiagnostics?: (diagnostics: readonly Diagnostic[]) => void;
  readonly debounceMs?: number;
  readonly pollIntervalMs?: number;
  /** Other sources (xDS, bootstrap file, Kubernetes) merged with the directory's objects. */
  readonly sources?: readonly ObjectSource[];
}

export class SnapshotStore implements ViewSource {
  private view!: MeshView;
  private viewFingerprint = '';
  private diags: readonly Diagnostic[] = [];
  private readonly listeners = new Set<(view: MeshView) => void>();
  /** Last accepted version of every object, by `ObjectRef.key`. */
  private lastGood = new Map<string, { object: TranslatedObject; fingerprint: string }>();
  /** Objects each file contributed to the last build (kept when the file breaks). */
  private perFile = new Map<string, readonly TranslatedObject[]>();
  /** Translations by file, reused while a file's text is unchanged. */
  private cache = new Map<string, { text: string; translation: FileTranslation }>();
  private readonly ctx: TranslateContext;

  private constructor(
    private readonly source: LocalDirSource,
    private readonly opts: SnapshotStoreOptions,
  ) {
    this.ctx = { localRanges: opts.localRanges ?? true };
  }

  static async open(opts: SnapshotStoreOptions): Promise<SnapshotStore> {
    const source = await LocalDirSource.open(opts.dir, {
      watch: opts.watch,
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
      ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    });
    const store = new SnapshotStore(source, opts);
    store.rebuild();
    source.onChange(() => store.rebuild());
    for (const extra of opts.sources ?? []) extra.onChange(() => store.rebuild());
    return store;
  }

  current(): MeshView {
    return this.view;
  }

  onChange(listener: (view: MeshView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Diagnostics of the latest rebuild, sorted by file and line. */
  diagnostics(): readonly Diagnostic[] {
    return this.diags;
  }

  /** Re-reads the directory now (e.g. on SIGHUP, or when not watching). */
  async reload(): Promise<void> {
    await this.source.rescan();
  }

  /** The non-directory sources, for readiness (synced, stale). */
  sources(): readonly ObjectSource[] {
    return this.opts.sources ?? [];
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all((this.opts.sources ?? []).map((s) => s.close()));
    await this.source.close();
  }

  private rebuild(): void {
    const diagnostics: Diagnostic[] = [];
    const perFile = new Map<string, readonly TranslatedObject[]>();

    for (const [file, state] of this.source.files()) {
      if ('error' in state) {
        diagnostics.push({ severity: 'error', code: 'FILE_UNREADABLE', file, message: state.error });
        perFile.set(file, this.keepFile(file, diagnostics));
        continue;
      }
      const translation = this.translate(file, state.text);
      diagnostics.push(...translation.diagnostics);
      if (!translation.syntaxOk) {
        perFile.set(file, this.keepFile(file, diagnostics));
        continue;
      }
      const objects: TranslatedObject[] = [];
      for (const outcome of translation.outcomes) {
        if (outcome.status === 'ok') objects.push(outcome.object);
        else if (outcome.status === 'failed') {
          const prev = this.lastGood.get(outcome.key);
          if (prev) {
            objects.push(prev.object);
            diagnostics.push(keptPrevious(prev.object, 'the new version was rejected'));
          } else if (outcome.standIn) {
            objects.push(outcome.standIn);
            diagnostics.push(standInDiagnostic(outcome.standIn));
          }
        }
      }
      perFile.set(file, objects);
    }

    for (const extra of this.opts.sources ?? []) diagnostics.push(...extra.diagnostics());
    const candidates = [...perFile.values()].flat().concat((this.opts.sources ?? []).flatMap((s) => s.objects()));
    const changed = (o: TranslatedObject): boolean => this.lastGood.get(o.ref.key)?.fingerprint !== fingerprint(o.value);
    // Unchanged objects first: they win duplicate-key and address conflicts against edits.
    const ordered = [...candidates.filter((o) => !changed(o)), ...candidates.filter(changed)];
    const generation = this.view ? this.view.generation + 1 : 1;
    let result: BuildResult = buildSnapshot(ordered, generation);

    // An edited object that now conflicts with another one: serve its previous version instead.
    const substitutes = new Map<string, TranslatedObject>();
    for (const key of result.rejected) {
      const prev = this.lastGood.get(key);
      const cur = ordered.find((o) => o.ref.key === key);
      if (prev && cur && prev.object !== cur) substitutes.set(key, prev.object);
    }
    let finalObjects = ordered;
    if (substitutes.size > 0) {
      finalObjects = ordered.map((o) => substitutes.get(o.ref.key) ?? o);
      const conflictDiags = result.diagnostics.filter((d) => d.code === 'ADDRESS_CONFLICT');
      result = buildSnapshot(finalObjects, generation);
      diagnostics.push(...conflictDiags.filter((d) => !result.diagnostics.includes(d)));
      for (const o of substitutes.values()) diagnostics.push(keptPrevious(o, 'the new version conflicts with another object'));
      for (const [file, objs] of perFile) perFile.set(file, objs.map((o) => substitutes.get(o.ref.key) ?? o));
    }
    diagnostics.push(...result.diagnostics);

    this.perFile = perFile;
    this.lastGood = new Map();
    for (const o of finalObjects) {
      if (result.rejected.has(o.ref.key) || this.lastGood.has(o.ref.key)) continue;
      this.lastGood.set(o.ref.key, { object: o, fingerprint: fingerprint(o.value) });
    }
    this.diags = Object.freeze(dedupe(diagnostics).sort(compareDiagnostics));

    const fp = fingerprint(result.snapshot);
    const accepted = !this.view || fp !== this.viewFingerprint;
    if (accepted) {
      this.view = new MeshView(result.snapshot);
      this.viewFingerprint = fp;
    }
    this.opts.onDiagnostics?.(this.diags);
    if (accepted && generation > 1) this.notify();
  }

  private translate(file: string, text: string): FileTranslation {
    const cached = this.cache.get(file);
    if (cached && cached.text === text) return cached.translation;
    const translation = translateFile(file, text, this.ctx);
    this.cache.set(file, { text, translation });
    return translation;
  }

  /** A broken file keeps serving what it contributed before. */
  private keepFile(file: string, diagnostics: Diagnostic[]): readonly TranslatedObject[] {
    const prev = this.perFile.get(file) ?? [];
    if (prev.length > 0) {
      diagnostics.push({
        severity: 'warning',
        code: 'KEPT_PREVIOUS',
        file,
        message: `keeping the previous ${prev.length} object(s) of this file until it is fixed`,
      });
    }
    return prev;
  }

  private notify(): void {
    for (const l of [...this.listeners]) {
      try {
        l(this.view);
      } catch (err) {
        // One broken subscriber must not stop the others from seeing the new view.
        process.emitWarning(`snapshot listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

function keptPrevious(o: TranslatedObject, why: string): Diagnostic {
  return {
    severity: 'warning',
    code: 'KEPT_PREVIOUS',
    file: o.ref.origin.source,
    line: o.ref.origin.line,
    kind: o.ref.kind,
    ...(o.ref.namespace !== undefined ? { namespace: o.ref.namespace } : {}),
    name: o.ref.name,
    message: `${why}; the previous good version keeps serving`,
  };
}

function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = JSON.stringify(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
