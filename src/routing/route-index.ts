/**
 * First-match scan of a compiled route table with runs of look-alike entries turned into map
 * lookups. A table with many rules usually repeats one shape (the bench's 49 `PathPrefix /rN`
 * rules, then 49 `x-route: rN` rules); trying each in turn costs a comparison per rule per
 * request, where one lookup finds the first entry of the run that matches.
 *
 * Equivalence with trying every entry in order, which is the contract:
 * - a run holds consecutive entries only, so which run answers first is unchanged;
 * - an entry joins a run only when a lookup decides it exactly ({@link IndexKey}): one exact,
 *   case-sensitive, non-inverted header and at most the root path prefix (which matches a path
 *   that is empty or starts with `/`), or a case-sensitive segment prefix or exact path and
 *   nothing else;
 * - inside a run the lookup answers the entry with the lowest position among those that match
 *   (a repeated value keeps its first entry; prefixes compare positions).
 * Any other entry, and runs shorter than {@link MIN_INDEXED_RUN}, are tried as before.
 */
/** What the scan reads of a request (route-match.ts's `RequestView`). */
export interface ScanRequest {
  readonly pathOnly: string;
  header(name: string): string | undefined;
}

/** What decides an entry entirely, when a map lookup can. */
export type IndexKey =
  | { readonly kind: 'header'; readonly name: string; readonly value: string; readonly rootPath: boolean }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'exact'; readonly value: string };

export interface ScanEntry<R> {
  readonly match: {
    matches(req: R): boolean;
    indexKey(): IndexKey | undefined;
  };
}

/** Below this, a run's entries are tried one by one (a lookup is not cheaper than a few compares). */
export const MIN_INDEXED_RUN = 4;

interface PrefixHit<E> {
  readonly pos: number;
  readonly entry: E;
}

type Step<E> =
  | { readonly kind: 'one'; readonly entry: E }
  | { readonly kind: 'header'; readonly name: string; readonly rootPath: boolean; readonly byValue: ReadonlyMap<string, E> }
  | { readonly kind: 'prefix'; readonly maxLength: number; readonly byValue: ReadonlyMap<string, PrefixHit<E>> }
  | { readonly kind: 'exact'; readonly byValue: ReadonlyMap<string, E> };

export class RouteScan<R extends ScanRequest, E extends ScanEntry<R>> {
  private readonly steps: readonly Step<E>[];

  constructor(entries: readonly E[], minRun: number = MIN_INDEXED_RUN) {
    const steps: Step<E>[] = [];
    let i = 0;
    while (i < entries.length) {
      const first = entries[i] as E;
      const key = first.match.indexKey();
      let end = i + 1;
      if (key) while (end < entries.length && sameRun(key, (entries[end] as E).match.indexKey())) end++;
      const run = entries.slice(i, end);
      if (key && run.length >= minRun) steps.push(indexed(key, run));
      else for (const entry of run) steps.push({ kind: 'one', entry });
      i = end;
    }
    this.steps = steps;
  }

  /** The first entry, in table order, whose match holds for `req`. */
  first(req: R): E | undefined {
    for (const s of this.steps) {
      if (s.kind === 'one') {
        if (s.entry.match.matches(req)) return s.entry;
      } else if (s.kind === 'header') {
        if (s.rootPath && !isRootPath(req.pathOnly)) continue;
        const v = req.header(s.name);
        const e = v === undefined ? undefined : s.byValue.get(v);
        if (e) return e;
      } else if (s.kind === 'exact') {
        const e = s.byValue.get(req.pathOnly);
        if (e) return e;
      } else {
        const e = firstPrefix(s.byValue, s.maxLength, req.pathOnly);
        if (e) return e;
      }
    }
    return undefined;
  }
}

function sameRun(a: IndexKey, b: IndexKey | undefined): boolean {
  if (!b || a.kind !== b.kind) return false;
  return a.kind !== 'header' || (b.kind === 'header' && a.name === b.name && a.rootPath === b.rootPath);
}

function indexed<R, E extends ScanEntry<R>>(key: IndexKey, run: readonly E[]): Step<E> {
  if (key.kind !== 'prefix') {
    // One candidate value per request (the header's, or the path): the first entry with it.
    const byValue = new Map<string, E>();
    for (const e of run) {
      const v = (e.match.indexKey() as IndexKey).value;
      if (!byValue.has(v)) byValue.set(v, e);
    }
    return key.kind === 'header' ? { kind: 'header', name: key.name, rootPath: key.rootPath, byValue } : { kind: 'exact', byValue };
  }
  const byValue = new Map<string, PrefixHit<E>>();
  let maxLength = 0;
  run.forEach((entry, pos) => {
    const k = entry.match.indexKey() as IndexKey & { kind: 'prefix' };
    if (!byValue.has(k.value)) byValue.set(k.value, { pos, entry });
    maxLength = Math.max(maxLength, k.value.length);
  });
  return { kind: 'prefix', maxLength, byValue };
}

/** What the root prefix (`PathPrefix /`, stored as `''`) matches: the empty path or one starting with `/`. */
function isRootPath(path: string): boolean {
  return path.length === 0 || path.charCodeAt(0) === 0x2f;
}

/**
 * A segment prefix `v` matches `path` when `path` starts with `v` and ends there or continues
 * with `/`: so the candidates are `path` cut at each `/` and at its end, no longer than the
 * run's longest value. The one with the lowest position wins.
 */
function firstPrefix<E>(byValue: ReadonlyMap<string, PrefixHit<E>>, maxLength: number, path: string): E | undefined {
  const end = Math.min(path.length, maxLength);
  let best: PrefixHit<E> | undefined;
  for (let k = 0; k <= end; k++) {
    if (k !== path.length && path.charCodeAt(k) !== 0x2f) continue;
    const hit = byValue.get(k === path.length ? path : path.slice(0, k));
    if (hit && (best === undefined || hit.pos < best.pos)) best = hit;
  }
  return best?.entry;
}
