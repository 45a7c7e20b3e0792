/**
 * An Envoy bootstrap file (YAML or JSON) as a config source: its `static_resources` listeners and
 * clusters (with their inline route configurations and `load_assignment`s) go through the same
 * translators as resources from an ADS stream. The file is re-read when it changes; a file that
 * no longer parses keeps what it served, and a rejected resource keeps its previous version.
 * Field names are Envoy's (snake_case), as in Envoy's own docs and examples.
 */
const { watchFile, unwatchFile } = process.getBuiltinModule('node:fs');
const { readFile } = process.getBuiltinModule('node:fs/promises');
import { parse } from 'yaml';
import type { Diagnostic } from '../config/diagnostics.js';
import type { TranslatedObject } from '../config/from-k8s/translator.js';
import { assembleEnvoyConfig } from '../config/from-xds/envoy-config.js';
import type { EnvoyConfigTarget } from '../config/from-xds/envoy-config.js';
import { CLUSTER_TYPE, EnvoyResourceSet, LISTENER_TYPE, shortType } from '../config/from-xds/envoy-resources.js';
import type { ResourceProblem } from '../config/from-xds/envoy-resources.js';
import type { ObjectSource, ObjectSourceStatus } from '../state/object-source.js';

export interface EnvoyBootstrapOptions {
  readonly file: string;
  /** The waypoint the file configures (its RBAC filters attach there). */
  readonly waypoint: EnvoyConfigTarget['waypoint'];
  /** Re-read the file when it changes (polling, so mounted ConfigMaps work). */
  readonly watch?: boolean;
  readonly pollIntervalMs?: number;
}

export class EnvoyBootstrapSource implements ObjectSource {
  readonly name: string;
  private readonly set = new EnvoyResourceSet();
  private objs: readonly TranslatedObject[] = [];
  private diags: Diagnostic[] = [];
  private readonly listeners = new Set<() => void>();
  private loaded = false;
  private watching = false;

  private constructor(private readonly opts: EnvoyBootstrapOptions) {
    this.name = `bootstrap ${opts.file}`;
  }

  /** Reads the file once (rejects when it cannot be read at all) and starts watching if asked. */
  static async open(opts: EnvoyBootstrapOptions): Promise<EnvoyBootstrapSource> {
    const src = new EnvoyBootstrapSource(opts);
    await src.reload();
    if (opts.watch) {
      src.watching = true;
      watchFile(opts.file, { interval: opts.pollIntervalMs ?? 1000, persistent: false }, () => void src.reload().catch(() => undefined));
    }
    return src;
  }

  objects(): readonly TranslatedObject[] {
    return this.objs;
  }

  diagnostics(): readonly Diagnostic[] {
    return this.diags;
  }

  status(): ObjectSourceStatus {
    return { synced: this.loaded, stale: false, detail: this.name };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async reload(): Promise<void> {
    const text = await readFile(this.opts.file, 'utf8').catch((err: unknown) => {
      if (!this.loaded) throw err;
      return undefined;
    });
    if (text === undefined) return;
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      if (!this.loaded) throw new Error(`${this.opts.file}: not valid YAML/JSON: ${err instanceof Error ? err.message : String(err)}`);
      this.diags = [{ severity: 'error', code: 'YAML_SYNTAX', file: this.opts.file, message: `${err instanceof Error ? err.message : String(err)}; keeping the previous config` }];
      this.emit();
      return;
    }
    const root = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
    const statics = (root['static_resources'] ?? {}) as Record<string, unknown>;
    const listOf = (k: string): { value: unknown }[] => (Array.isArray(statics[k]) ? (statics[k] as unknown[]).map((value) => ({ value })) : []);
    const problems = [
      ...this.set.apply(CLUSTER_TYPE, listOf('clusters'), true).problems,
      ...this.set.apply(LISTENER_TYPE, listOf('listeners'), true).problems,
    ];
    this.diags = problems.map((p) => problemDiagnostic(p, this.opts.file));
    this.objs = assembleEnvoyConfig(this.set, { waypoint: this.opts.waypoint, source: this.opts.file });
    this.loaded = true;
    this.emit();
  }

  async close(): Promise<void> {
    if (this.watching) unwatchFile(this.opts.file);
    this.listeners.clear();
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** A rejected Envoy resource as a diagnostic (kind = the Envoy message, field = its path). */
export function problemDiagnostic(p: ResourceProblem, file: string): Diagnostic {
  return { severity: 'error', code: 'FIELD_INVALID', file, kind: shortType(p.typeUrl), name: p.name, field: p.field, message: p.message };
}
