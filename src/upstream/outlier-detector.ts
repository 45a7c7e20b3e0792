/**
 * Envoy's outlier detection (consecutive errors) from a DestinationRule `outlierDetection`, as
 * Istio translates it:
 *
 * - `consecutive5xxErrors` (Envoy `consecutive_5xx`, default 5; 0 disables): a host answering that
 *   many 5xx in a row is ejected. Connection failures, resets and timeouts count as 5xx (Istio
 *   does not split local-origin errors by default).
 * - `consecutiveGatewayErrors` (`consecutive_gateway_failure`; off unless set): the same for
 *   502/503/504 and connection failures.
 * - An ejected host is left out of load balancing for `baseEjectionTime` (30 s) × the number of
 *   times it was ejected (capped at 300 s); it comes back at the first `interval` tick (10 s)
 *   after that; each tick it stays healthy lowers that multiplier again.
 * - `maxEjectionPercent` (10): no ejection that would put more of the cluster out, except that one
 *   host may always be ejected (Envoy ≥ 1.22).
 *
 * Ejection is immediate on the failing response; only the return waits for the interval timer,
 * which runs while some host is ejected or remembered.
 */
import type { OutlierDetectionIR } from '../config/ir-routes.js';

export interface OutlierSettings {
  readonly consecutive5xx: number;
  readonly consecutiveGateway: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionPercent: number;
}

const MAX_EJECTION_MS = 300_000;

/** Settings of an `outlierDetection` block (config time). */
export function outlierSettings(od: OutlierDetectionIR): OutlierSettings {
  return Object.freeze({
    consecutive5xx: od.consecutive5xxErrors ?? 5,
    consecutiveGateway: od.consecutiveGatewayErrors ?? 0,
    intervalMs: od.intervalMs ?? 10_000,
    baseEjectionMs: od.baseEjectionTimeMs ?? 30_000,
    maxEjectionPercent: od.maxEjectionPercent ?? 10,
  });
}

interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Times ejected (the ejection-time multiplier); lowered per healthy interval. */
  ejections: number;
  /** When the current ejection started; undefined = not ejected. */
  ejectedAt: number | undefined;
}

export class OutlierDetector {
  private readonly hosts = new Map<string, HostState>();
  private ejected = 0;
  private timer: NodeJS.Timeout | undefined;
  private settings: OutlierSettings | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  isEjected(host: string): boolean {
    return this.ejected > 0 && this.hosts.get(host)?.ejectedAt !== undefined;
  }

  /** Hosts ejected right now. */
  get ejectedCount(): number {
    return this.ejected;
  }

  /**
   * Records the outcome of one attempt on `host`: `status` is the response status, or the status
   * a local-origin failure stands for (503 connect failure/reset, 504 timeout). `clusterSize`
   * is the number of hosts the percentage is taken of.
   */
  record(s: OutlierSettings, host: string, status: number, clusterSize: number): void {
    this.settings = s;
    let h = this.hosts.get(host);
    if (status < 500) {
      if (h) {
        h.consecutive5xx = 0;
        h.consecutiveGateway = 0;
      }
      return;
    }
    if (!h) this.hosts.set(host, (h = { consecutive5xx: 0, consecutiveGateway: 0, ejections: 0, ejectedAt: undefined }));
    h.consecutive5xx++;
    if (status === 502 || status === 503 || status === 504) h.consecutiveGateway++;
    if (h.ejectedAt !== undefined) return;
    const by5xx = s.consecutive5xx > 0 && h.consecutive5xx >= s.consecutive5xx;
    const byGateway = s.consecutiveGateway > 0 && h.consecutiveGateway >= s.consecutiveGateway;
    if (by5xx || byGateway) this.eject(s, h, clusterSize);
  }

  private eject(s: OutlierSettings, h: HostState, clusterSize: number): void {
    const percent = (100 * (this.ejected + 1)) / Math.max(clusterSize, 1);
    if (this.ejected > 0 && percent > s.maxEjectionPercent) return;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    h.ejections++;
    h.ejectedAt = this.now();
    this.ejected++;
    this.timer ??= setInterval(() => this.tick(), s.intervalMs).unref();
  }

  /** The interval timer: returns hosts whose ejection is over, forgets healthy ones. */
  private tick(): void {
    const s = this.settings;
    if (!s) return;
    const now = this.now();
    for (const [host, h] of this.hosts) {
      if (h.ejectedAt !== undefined) {
        const duration = Math.min(s.baseEjectionMs * h.ejections, Math.max(MAX_EJECTION_MS, s.baseEjectionMs));
        if (now - h.ejectedAt >= duration) {
          h.ejectedAt = undefined;
          this.ejected--;
        }
      } else if (h.ejections > 0) {
        h.ejections--;
      } else if (h.consecutive5xx === 0 && h.consecutiveGateway === 0) {
        this.hosts.delete(host);
      }
    }
    if (this.ejected === 0 && [...this.hosts.values()].every((h) => h.ejections === 0)) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** One detector per cluster name, living as long as the waypoint. */
export class OutlierDetectors {
  private readonly byCluster = new Map<string, OutlierDetector>();

  constructor(private readonly now: () => number = Date.now) {}

  for(cluster: string): OutlierDetector {
    let d = this.byCluster.get(cluster);
    if (!d) this.byCluster.set(cluster, (d = new OutlierDetector(this.now)));
    return d;
  }

  close(): void {
    for (const d of this.byCluster.values()) d.stop();
  }
}
