/**
 * The local directory source: every `*.yaml` / `*.yml` under a directory (recursively), as text.
 * Transport only: it reports which files changed; parsing and translation happen elsewhere.
 *
 * Watching: `fs.watch` (recursive where the platform supports it) triggers a debounced rescan, and a
 * slow poll rescans anyway, because fs.watch misses events on some filesystems (network mounts,
 * some containers) and after atomic renames. A rescan re-reads every file and compares contents,
 * so listeners only hear about real changes. Hidden entries (`.git`, Kubernetes' `..data` symlink
 * farm in mounted ConfigMaps) are ignored so no file is read twice.
 */
const { watch } = process.getBuiltinModule('node:fs');
import type { FSWatcher } from 'node:fs';
const { readFile, readdir, stat } = process.getBuiltinModule('node:fs/promises');
// eslint-disable-next-line @typescript-eslint/unbound-method -- built-in functions do not use `this`
const { join, sep } = process.getBuiltinModule('node:path');

export type FileState = { readonly text: string } | { readonly error: string };

/** A file as read, with its modification time (to tell a finished write from one in progress). */
type ReadState = FileState & { readonly mtimeMs?: number };

/** After this many deferrals a file is taken as is (e.g. its mtime is in the future on a network FS). */
const MAX_DEFERRALS = 5;

export interface DirChangeSet {
  /** New or modified files, with their new state. */
  readonly changed: ReadonlyMap<string, FileState>;
  /** Files that no longer exist. */
  readonly removed: readonly string[];
}

export interface LocalDirOptions {
  readonly watch: boolean;
  /** Quiet time after the last fs event before rescanning (editors write in bursts). */
  readonly debounceMs?: number;
  /** Rescan period when watching, as a safety net for missed fs events. */
  readonly pollIntervalMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 50;
const DEFAULT_POLL_MS = 1000;

export function isConfigFile(path: string): boolean {
  return path.endsWith('.yaml') || path.endsWith('.yml');
}

export class LocalDirSource {
  private state = new Map<string, FileState>();
  private readonly listeners = new Set<(changes: DirChangeSet) => void>();
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  /** Files whose latest change looked half-written, with how often they were deferred. */
  private readonly deferred = new Map<string, number>();
  private rescanRequested = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly opts: LocalDirOptions,
  ) {}

  /** Reads the directory once (rejects if it cannot be listed) and starts watching if asked. */
  static async open(dir: string, opts: LocalDirOptions): Promise<LocalDirSource> {
    const src = new LocalDirSource(dir, opts);
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    src.state = await readAll(dir);
    if (opts.watch) src.startWatching();
    return src;
  }

  /** Every config file with its current content, by path (`dir` joined with the relative path). */
  files(): ReadonlyMap<string, FileState> {
    return this.state;
  }

  onChange(listener: (changes: DirChangeSet) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rescans now; resolves after listeners have been told about any change. */
  rescan(): Promise<void> {
    if (this.scanning) {
      // A scan is in flight: it may have read a file before the latest write, so run once more.
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = this.scanLoop().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.listeners.clear();
    await this.scanning;
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.scheduleRescan());
      // Errors (e.g. the directory is removed, too many watchers) leave the poll in charge.
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Recursive watch unsupported here: the poll alone will notice changes.
      this.watcher = undefined;
    }
    this.pollTimer = setInterval(() => void this.rescan(), this.opts.pollIntervalMs ?? DEFAULT_POLL_MS);
    this.pollTimer.unref();
  }

  private scheduleRescan(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.rescan(), this.opts.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.debounceTimer.unref();
  }

  /**
   * A file modified within the debounce window may be mid-write (an in-place save truncates, then
   * writes): keep its previous state for now and look again shortly, so a half-written file never
   * removes objects even briefly. Mutates `next`.
   */
  private holdUnsettled(next: Map<string, ReadState>): void {
    const settleMs = this.opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    const now = Date.now();
    let held = false;
    for (const [path, st] of next) {
      const prev = this.state.get(path);
      if ((prev && sameState(prev, st)) || st.mtimeMs === undefined || now - st.mtimeMs >= settleMs) {
        this.deferred.delete(path);
        continue;
      }
      const count = this.deferred.get(path) ?? 0;
      if (count >= MAX_DEFERRALS) {
        this.deferred.delete(path);
        continue;
      }
      this.deferred.set(path, count + 1);
      if (prev) next.set(path, prev);
      else next.delete(path);
      held = true;
    }
    if (held) this.scheduleRescan();
  }

  private async scanLoop(): Promise<void> {
    do {
      this.rescanRequested = false;
      let next: Map<string, ReadState>;
      try {
        next = await readAll(this.dir);
      } catch {
        // The directory vanished or is unreadable for a moment: keep what we have (last good).
        return;
      }
      if (this.closed) return;
      // Explicit rescans (not watching) take files as they are: the caller finished its writes.
      if (this.opts.watch) this.holdUnsettled(next);
      const changes = diff(this.state, next);
      this.state = next;
      if (changes) for (const l of [...this.listeners]) l(changes);
    } while (this.rescanRequested && !this.closed);
  }
}

function diff(before: ReadonlyMap<string, FileState>, after: ReadonlyMap<string, FileState>): DirChangeSet | undefined {
  const changed = new Map<string, FileState>();
  for (const [path, s] of after) {
    const prev = before.get(path);
    if (!prev || !sameState(prev, s)) changed.set(path, s);
  }
  const removed = [...before.keys()].filter((p) => !after.has(p));
  return changed.size > 0 || removed.length > 0 ? { changed, removed } : undefined;
}

function sameState(a: FileState, b: FileState): boolean {
  if ('text' in a && 'text' in b) return a.text === b.text;
  if ('error' in a && 'error' in b) return a.error === b.error;
  return false;
}

async function readAll(dir: string): Promise<Map<string, ReadState>> {
  const entries = await readdir(dir, { recursive: true });
  const paths = entries
    .filter((rel) => isConfigFile(rel) && !rel.split(sep).some((seg) => seg.startsWith('.')))
    .sort()
    .map((rel) => join(dir, rel));
  const out = new Map<string, ReadState>();
  await Promise.all(
    paths.map(async (p) => {
      try {
        const st = await stat(p);
        if (!st.isFile()) return;
        out.set(p, { text: await readFile(p, 'utf8'), mtimeMs: st.mtimeMs });
      } catch (err) {
        // Deleted between listing and reading: simply absent. Anything else is worth reporting.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        out.set(p, { error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  // Promise.all fills in completion order; callers rely on sorted (file) order.
  return new Map([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}
