/**
 * Watches the event loop for stalls while something runs: `monitorEventLoopDelay` for the
 * longest delay, plus a 5 ms ticker that records each late tick's gap and the garbage-collector
 * pauses (`gc` performance entries) inside it. A gap is "not GC" by the time left when the GC
 * pauses inside it are taken out: on a shared 2-core machine a young-generation scavenge of the
 * whole in-process mesh can itself take tens of milliseconds, and that pause happens with or
 * without the work under test, while work done on the event loop shows as gap time outside GC.
 */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';

export interface StallReport {
  /** Longest event-loop delay seen by `monitorEventLoopDelay` (ms). */
  readonly maxDelayMs: number;
  /** Longest gap between ticks with GC pauses inside it taken out (ms). */
  readonly maxNonGcStallMs: number;
  /** Every gap over 30 ms, as `gap/gc` in ms (for the log). */
  readonly gaps: readonly string[];
}

export interface StallWatch {
  stop(): StallReport;
}

export function watchStalls(): StallWatch {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const gcs: Array<{ start: number; end: number }> = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const gaps: Array<{ from: number; to: number }> = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - last > 30) gaps.push({ from: last, to: now });
    last = now;
  }, 5);
  return {
    stop(): StallReport {
      clearInterval(ticker);
      delay.disable();
      // Entries still buffered in the observer are delivered on takeRecords.
      for (const e of obs.takeRecords()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
      obs.disconnect();
      let maxNonGcStallMs = 0;
      const shown: string[] = [];
      for (const g of gaps) {
        let gc = 0;
        for (const c of gcs) gc += Math.max(0, Math.min(g.to, c.end) - Math.max(g.from, c.start));
        const gap = g.to - g.from;
        maxNonGcStallMs = Math.max(maxNonGcStallMs, gap - gc);
        shown.push(`${gap.toFixed(0)}/${gc.toFixed(0)}`);
      }
      return { maxDelayMs: delay.max / 1e6, maxNonGcStallMs, gaps: shown };
    },
  };
}
