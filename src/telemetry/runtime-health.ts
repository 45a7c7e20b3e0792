/**
 * Runtime health beside Istio's metrics: what a Node.js proxy needs watched that Envoy does not
 * have (or reports under other names). Read at scrape time, so nothing runs per request:
 *
 * - `ambient_event_loop_delay_seconds{quantile="0.5"|"0.99"|"max"}`: event-loop delay since the
 *   previous scrape (perf_hooks.monitorEventLoopDelay, 10 ms resolution); a blocked loop delays
 *   every connection of the process, so this is the first thing to look at when latency rises;
 * - `ambient_open_sockets{kind="socket"|"server"}`: TCP sockets and listening servers the process
 *   holds (process.getActiveResourcesInfo), and `ambient_open_fds` (entries of /proc/self/fd; not
 *   exported where /proc is missing) against `ambient_max_fds` (the soft RLIMIT_NOFILE, from
 *   /proc/self/limits), to see descriptor exhaustion coming;
 * - `ambient_gc_pause_seconds_total{kind}` and `ambient_gc_pauses_total{kind}`: time the process
 *   spent in GC pauses (PerformanceObserver 'gc' entries), by minor/major/incremental/weakcb.
 *
 * Failed connections by reason are counted where records are made (ProxyMetrics.failedConnections).
 */
const { readdirSync, readFileSync } = process.getBuiltinModule('node:fs');
const { constants, monitorEventLoopDelay, PerformanceObserver } = process.getBuiltinModule('node:perf_hooks');
type PerformanceObserver = import('node:perf_hooks').PerformanceObserver;
import type { PerformanceEntry } from 'node:perf_hooks';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export class RuntimeHealth {
  private readonly delay: ReturnType<typeof monitorEventLoopDelay>;
  private readonly gc: PerformanceObserver;

  constructor(registry: Registry, prefix: string) {
    const registers = [registry];
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    const delay = this.delay;
    new Gauge({
      name: `${prefix}event_loop_delay_seconds`,
      help: 'Event-loop delay since the previous scrape: p50, p99 and max (monitorEventLoopDelay).',
      labelNames: ['quantile'],
      registers,
      collect() {
        // Nanoseconds; NaN/0 before the first sample.
        const s = (ns: number): number => (Number.isFinite(ns) ? ns / 1e9 : 0);
        this.set({ quantile: '0.5' }, s(delay.percentile(50)));
        this.set({ quantile: '0.99' }, s(delay.percentile(99)));
        this.set({ quantile: 'max' }, s(delay.max));
        delay.reset();
      },
    });
    new Gauge({
      name: `${prefix}open_sockets`,
      help: 'TCP sockets (socket) and listening servers (server) the process holds.',
      labelNames: ['kind'],
      registers,
      collect() {
        let sockets = 0;
        let servers = 0;
        for (const r of process.getActiveResourcesInfo()) {
          if (r === 'TCPSocketWrap' || r === 'TLSSocketWrap' || r === 'PipeWrap') sockets++;
          else if (r === 'TCPServerWrap') servers++;
        }
        this.set({ kind: 'socket' }, sockets);
        this.set({ kind: 'server' }, servers);
      },
    });
    if (readFds() !== undefined) {
      new Gauge({
        name: `${prefix}open_fds`,
        help: 'Open file descriptors (/proc/self/fd).',
        registers,
        collect() {
          this.set(readFds() ?? 0);
        },
      });
      const max = maxFds();
      if (max !== undefined) new Gauge({ name: `${prefix}max_fds`, help: 'Soft limit on open file descriptors (RLIMIT_NOFILE).', registers }).set(max);
    }
    const pauseSeconds = new Counter({ name: `${prefix}gc_pause_seconds_total`, help: 'Time spent in garbage-collection pauses, by kind.', labelNames: ['kind'], registers });
    const pauses = new Counter({ name: `${prefix}gc_pauses_total`, help: 'Garbage-collection pauses, by kind.', labelNames: ['kind'], registers });
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = GC_KINDS[gcKind(e)] ?? 'other';
        pauseSeconds.inc({ kind }, e.duration / 1000);
        pauses.inc({ kind });
      }
    });
    this.gc.observe({ entryTypes: ['gc'] });
  }

  close(): void {
    this.delay.disable();
    this.gc.disconnect();
  }
}

function gcKind(e: PerformanceEntry): number {
  const detail = (e as PerformanceEntry & { detail?: { kind?: unknown } }).detail;
  return typeof detail?.kind === 'number' ? detail.kind : -1;
}

function readFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    const n = soft === undefined ? NaN : Number(soft);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
