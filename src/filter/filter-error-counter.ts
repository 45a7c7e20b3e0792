/**
 * Where filter failures go: counted, and the first one of each filter logged with its stack.
 */

export type HookName =
  | 'create'
  | 'onRequestHeaders'
  | 'onRequestBody'
  | 'onRequestTrailers'
  | 'onResponseHeaders'
  | 'onResponseBody'
  | 'onResponseTrailers'
  | 'onStreamComplete';

/** Where filter failures go: counted, and logged once. */
export interface FilterErrorReporter {
  filterFailed(filter: string, hook: HookName, error: unknown): void;
}

/**
 * Counts failures per filter and logs the first one of each filter with its stack: a broken
 * filter fails every request, and one log line per request would bury everything else.
 */
export class FilterErrorCounter implements FilterErrorReporter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly log: (line: string) => void = (line) => console.error(line)) {}

  filterFailed(filter: string, hook: HookName, error: unknown): void {
    const n = (this.counts.get(filter) ?? 0) + 1;
    this.counts.set(filter, n);
    if (n === 1) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.log(`filter ${filter} failed in ${hook} (further failures of this filter are only counted): ${detail}`);
    }
  }

  /** Failures of one filter so far (metrics, tests). */
  count(filter: string): number {
    return this.counts.get(filter) ?? 0;
  }

  /** All failures so far. */
  total(): number {
    let t = 0;
    for (const n of this.counts.values()) t += n;
    return t;
  }
}
