/**
 * The Kubernetes API as a config source: every collection of {@link KUBE_RESOURCES} is listed, then
 * watched from the list's resourceVersion; each object goes through the same translators as the
 * YAML files (an API object is the same JSON as its file form). ADDED/MODIFIED replace an object,
 * DELETED removes it, BOOKMARK advances the resourceVersion. A watch that expires (410 Gone, as an
 * HTTP status or an ERROR event) re-lists; a failing request re-lists after a backoff while the
 * last good objects keep serving (`status().stale`). An object that fails translation keeps its
 * previous version. Synced once every collection has been listed once; a collection the server
 * does not have (404: the CRD is not installed) counts as empty and is retried slowly.
 *
 * Every `resyncMs` (default 10 minutes) each collection is listed afresh even when its watch is
 * healthy (the watch is asked to end then), so an event lost on the way (a dropped connection
 * between a write and its event, a proxy that cut the stream silently) cannot leave a stale object
 * serving for ever. EndpointSlices are not translated on their own: their addresses become the
 * endpoints of the selector-less Service they name (src/config/from-k8s/endpoint-slice.ts).
 */
import type { KubeCredentials } from './kube-credentials.js';
import type { Diagnostic } from '../config/diagnostics.js';
import { isRecord } from '../config/from-k8s/object-reader.js';
import type { ManifestDocument } from '../config/from-k8s/parse-manifests.js';
import { translateDocument } from '../config/from-k8s/translate.js';
import { standInDiagnostic } from '../config/from-k8s/policy-stand-ins.js';
import type { TranslateContext, TranslatedObject } from '../config/from-k8s/translator.js';
import type { ObjectSource, ObjectSourceStatus } from '../state/object-source.js';
import { readEndpointSlice, withSliceEndpoints } from '../config/from-k8s/endpoint-slice.js';
import type { SliceEndpoints } from '../config/from-k8s/endpoint-slice.js';
import { KubeApiClient } from './kube-api-client.js';
import { KUBE_RESOURCES, resourceUrl } from './kube-resources.js';
import type { KubeResource } from './kube-resources.js';
import { Backoff } from './xds-backoff.js';

export interface KubeWatchSourceOptions {
  readonly kubeConfig: KubeCredentials;
  readonly resources?: readonly KubeResource[];
  /** Delays between failed attempts (per collection). */
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** How long the server keeps one watch open before it ends and is resumed. */
  readonly watchTimeoutSeconds?: number;
  /** Re-list period for a collection the server does not serve (404). */
  readonly notFoundRetryMs?: number;
  /** Objects of a real cluster are not held to the local-mesh address ranges. */
  readonly context?: TranslateContext;
  /** Full re-list period per collection, watch or not (default 10 minutes). */
  readonly resyncMs?: number;
}

interface Entry {
  readonly object: TranslatedObject | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

interface Collection {
  readonly resource: KubeResource;
  readonly backoff: Backoff;
  entries: Map<string, Entry>;
  resourceVersion: string;
  listed: boolean;
  /** Last failure, while failing. */
  error: string | undefined;
  /** Set by an ERROR event: the stream is over and must re-list. */
  expired: boolean;
  /** When the last full list completed (resync counts from it). */
  listedAt: number;
  /** EndpointSlices of this collection, by key (EndpointSlice collections only). */
  slices: Map<string, SliceEndpoints>;
}

export class KubeWatchSource implements ObjectSource {
  readonly name: string;
  private readonly client: KubeApiClient;
  private readonly collections: Collection[];
  private readonly listeners = new Set<() => void>();
  private readonly ctx: TranslateContext;
  private readonly timers = new Set<NodeJS.Timeout>();
  private cache: { objects: readonly TranslatedObject[]; diagnostics: readonly Diagnostic[] } | undefined;
  private closed = false;
  /** Relists done, for tests and readiness detail. */
  listCount = 0;

  constructor(private readonly opts: KubeWatchSourceOptions) {
    this.client = new KubeApiClient(opts.kubeConfig);
    this.name = `kube ${this.client.serverUrl}`;
    this.ctx = opts.context ?? { localRanges: false };
    const b = opts.backoffMs ?? { initial: 500, max: 30_000 };
    this.collections = (opts.resources ?? KUBE_RESOURCES).map((resource) => ({
      resource,
      backoff: new Backoff(b.initial, b.max),
      entries: new Map(),
      resourceVersion: '',
      listed: false,
      error: undefined,
      expired: false,
      listedAt: 0,
      slices: new Map(),
    }));
    for (const c of this.collections) void this.run(c);
  }

  objects(): readonly TranslatedObject[] {
    return this.view().objects;
  }

  diagnostics(): readonly Diagnostic[] {
    return this.view().diagnostics;
  }

  status(): ObjectSourceStatus {
    const synced = this.collections.every((c) => c.listed);
    const failing = this.collections.filter((c) => c.error !== undefined);
    const detail =
      failing.length > 0
        ? `Kubernetes API ${this.client.serverUrl}: ${failing.map((c) => `${c.resource.kind}: ${c.error ?? ''}`).join('; ')}`
        : synced
          ? `watching ${this.collections.length} collections at ${this.client.serverUrl}`
          : `listing from ${this.client.serverUrl}`;
    return { synced, stale: synced && failing.length > 0, detail };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.client.abortAll();
    this.listeners.clear();
  }

  private view(): { objects: readonly TranslatedObject[]; diagnostics: readonly Diagnostic[] } {
    if (!this.cache) {
      const entries = this.collections.flatMap((c) => [...c.entries.values()]);
      const slices = this.collections.flatMap((c) => [...c.slices.values()]);
      const withSlices = (o: TranslatedObject): TranslatedObject => (o.type === 'Service' && slices.length > 0 ? { ...o, value: withSliceEndpoints(o.value, slices) } : o);
      this.cache = {
        objects: entries.flatMap((e) => (e.object ? [withSlices(e.object)] : [])),
        diagnostics: entries.flatMap((e) => e.diagnostics),
      };
    }
    return this.cache;
  }

  private emit(): void {
    this.cache = undefined;
    for (const l of [...this.listeners]) l();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** List, then watch until the watch expires; on failure wait and start over. Never rejects. */
  private async run(c: Collection): Promise<void> {
    while (!this.closed) {
      try {
        const found = await this.list(c);
        if (!found) {
          await this.sleep(this.opts.notFoundRetryMs ?? 60_000);
          continue;
        }
        await this.watch(c);
      } catch (err) {
        if (this.closed) return;
        const wasFailing = c.error !== undefined;
        c.error = err instanceof Error ? err.message : String(err);
        if (!wasFailing) this.emit();
        await this.sleep(c.backoff.next());
      }
    }
  }

  /** Replaces the collection's objects with a full list. False when the server has no such collection. */
  private async list(c: Collection): Promise<boolean> {
    const res = await this.client.list(resourceUrl(c.resource));
    if (this.closed) return true;
    this.listCount++;
    if (res.status === 404) {
      c.entries = new Map();
      c.resourceVersion = '';
      this.listed(c);
      return false;
    }
    if (res.status !== 200 || !isRecord(res.body) || !Array.isArray(res.body['items'])) {
      throw new Error(`list ${c.resource.path}: HTTP ${res.status}${statusMessage(res.body)}`);
    }
    const previous = c.entries;
    c.entries = new Map();
    c.slices = new Map();
    for (const item of res.body['items'] as unknown[]) this.put(c, item, previous);
    const meta = res.body['metadata'];
    c.resourceVersion = isRecord(meta) && typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : '';
    this.listed(c);
    return true;
  }

  private listed(c: Collection): void {
    c.listed = true;
    c.listedAt = Date.now();
    c.error = undefined;
    c.expired = false;
    c.backoff.reset();
    this.emit();
  }

  /** Watches from the list's resourceVersion, resuming after normal ends, until expired. */
  private async watch(c: Collection): Promise<void> {
    const resyncMs = this.opts.resyncMs ?? 600_000;
    while (!this.closed) {
      const untilResync = c.listedAt + resyncMs - Date.now();
      if (untilResync <= 0) return;
      // The server ends the watch by the next resync at the latest (whole seconds, at least one).
      const timeoutSeconds = Math.max(1, Math.min(this.opts.watchTimeoutSeconds ?? 300, Math.ceil(untilResync / 1000)));
      const url = resourceUrl(c.resource, { watch: 'true', allowWatchBookmarks: 'true', resourceVersion: c.resourceVersion, timeoutSeconds: String(timeoutSeconds) });
      // The server ends the watch after timeoutSeconds; silence well past that means a dead stream.
      const status = await this.client.watch(url, (e) => this.onEvent(c, e), timeoutSeconds * 1000 + 30_000);
      if (status === 410 || c.expired) return;
      if (status !== 200) throw new Error(`watch ${c.resource.path}: HTTP ${status}`);
    }
  }

  private onEvent(c: Collection, event: unknown): void {
    if (this.closed || !isRecord(event)) return;
    const type = event['type'];
    const obj = event['object'];
    if (type === 'ERROR') {
      // 410 Gone (resourceVersion too old) or another failure: either way the stream is over.
      c.expired = true;
      return;
    }
    if (!isRecord(obj)) return;
    const meta = obj['metadata'];
    const rv = isRecord(meta) ? meta['resourceVersion'] : undefined;
    if (typeof rv === 'string') c.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    if (type === 'ADDED' || type === 'MODIFIED') this.put(c, obj, c.entries);
    else if (type === 'DELETED') {
      c.entries.delete(entryKey(obj));
      c.slices.delete(entryKey(obj));
    }
    else return;
    this.emit();
  }

  /** Translates one object into `c.entries`; a rejected object keeps its version from `previous`. */
  private put(c: Collection, raw: unknown, previous: ReadonlyMap<string, Entry>): void {
    if (!isRecord(raw)) return;
    const meta = raw['metadata'];
    const name = isRecord(meta) ? meta['name'] : undefined;
    if (typeof name !== 'string' || name === '' || !isRecord(meta)) return;
    const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : undefined;
    const key = entryKey(raw);
    if (c.resource.kind === 'EndpointSlice') {
      const slice = readEndpointSlice(raw);
      if (slice) c.slices.set(key, slice);
      else c.slices.delete(key);
      return;
    }
    const root = { ...raw, apiVersion: c.resource.apiVersion, kind: c.resource.kind };
    const file = `kube:${c.resource.kind}/${namespace === undefined ? name : `${namespace}/${name}`}`;
    const doc: ManifestDocument = { root, apiVersion: c.resource.apiVersion, kind: c.resource.kind, name, metadataNamespace: namespace, source: { file, line: 1, lineOf: () => undefined } };
    const { outcome, diagnostics } = translateDocument(doc, this.ctx);
    if (outcome.status === 'ok') {
      c.entries.set(key, { object: outcome.object, diagnostics });
    } else if (outcome.status === 'failed') {
      const prev = previous.get(key)?.object;
      const kept: Diagnostic[] = prev
        ? [{ severity: 'warning', code: 'KEPT_PREVIOUS', file, kind: c.resource.kind, ...(namespace !== undefined ? { namespace } : {}), name, message: 'the new version was rejected; serving the previous one' }]
        : outcome.standIn ? [standInDiagnostic(outcome.standIn)] : [];
      c.entries.set(key, { object: prev ?? outcome.standIn, diagnostics: [...diagnostics, ...kept] });
    } else {
      c.entries.set(key, { object: undefined, diagnostics });
    }
  }
}

function entryKey(obj: Readonly<Record<string, unknown>>): string {
  const meta = obj['metadata'];
  if (!isRecord(meta)) return '';
  return `${typeof meta['namespace'] === 'string' ? meta['namespace'] : ''}/${String(meta['name'])}`;
}

function statusMessage(body: unknown): string {
  return isRecord(body) && typeof body['message'] === 'string' ? `: ${body['message']}` : '';
}
