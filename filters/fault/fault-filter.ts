/**
 * `envoy.filters.http.fault` (phase FAULT) for VirtualService `fault` on routes, with Envoy's
 * semantics (source/extensions/filters/http/fault/fault_filter.cc, fault_filter.rst):
 *
 * - percentages are per million (Istio's `translatePercentToFractionalPercent`: value × 10 000
 *   over MILLION); a request is picked when `random % 1 000 000 < numerator`;
 * - a delay is decided first: the request waits `fixedDelay` (flag `DI`), then an abort is
 *   decided: the request is answered here (flag `FI`, details `fault_filter_abort`, body
 *   `fault filter abort`) and never reaches the router;
 * - `grpcStatus`: answered with HTTP 200 and that `grpc-status` (a gRPC request gets a
 *   trailers-only reply), as Envoy does for `abort.grpc_status`;
 * - `maxActiveFaults`: a request that would make more faults active than that gets none
 *   (`faults_overflow`); a fault counts as active until its stream completes. Unlimited unless set.
 *
 * The route decides the fault but is chosen after the filters run, so the filter asks a
 * {@link FaultPolicyLookup} (the service port's compiled route table, matching the same request).
 */
import type { FilterFactory, HookResult, RequestContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, respond } from '../../src/filter/api.js';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';

/** Envoy's FractionalPercent denominator for Istio's percentages. */
export const PER_MILLION = 1_000_000;

/** A route's fault, compiled: percentages as parts per million. */
export interface FaultPolicy {
  readonly delay?: { readonly ms: number; readonly perMillion: number };
  readonly abort?: {
    /** HTTP status of the local reply (200 for a gRPC status abort). */
    readonly httpStatus: number;
    /** gRPC status code (`grpcStatus`), when the abort is a gRPC one. */
    readonly grpcStatus?: number;
    readonly perMillion: number;
  };
}

export type FaultPolicyLookup = (ctx: RequestContext) => FaultPolicy | undefined;

/** Envoy's fault filter stats (`fault.<prefix>.*`), shared by every stream of a waypoint. */
export class FaultStats {
  delaysInjected = 0;
  abortsInjected = 0;
  /** Faults active now (gauge). */
  activeFaults = 0;
  faultsOverflow = 0;
}

export interface FaultFilterOptions {
  readonly lookup: FaultPolicyLookup;
  /** In [0, 1). */
  readonly random: () => number;
  readonly stats: FaultStats;
  /** `max_active_faults`; unlimited when undefined. */
  readonly maxActiveFaults?: number;
}

/** Percentage (0–100, fractional) → parts per million, as Istio rounds it (truncation). */
export function perMillionOf(percent: number): number {
  return Math.min(PER_MILLION, Math.max(0, Math.trunc(percent * 10_000)));
}

/** gRPC status names (Istio `grpcStatus`) → codes. */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

const ABORT_BODY = 'fault filter abort';
const ABORT_DETAILS = 'fault_filter_abort';

function delayFor(ms: number): Promise<typeof CONTINUE> {
  return new Promise((resolve) => setTimeout(resolve, ms, CONTINUE));
}

class FaultStreamFilter implements StreamFilter {
  private active = false;

  constructor(private readonly opts: FaultFilterOptions) {}

  onRequestHeaders(ctx: RequestContext): HookResult {
    const policy = this.opts.lookup(ctx);
    if (!policy) return CONTINUE;
    const d = policy.delay;
    if (d && this.picked(d.perMillion) && this.tryActivate()) {
      this.opts.stats.delaysInjected++;
      ctx.streamInfo.addResponseFlag('DI');
      return delayFor(d.ms).then(() => this.maybeAbort(ctx, policy));
    }
    return this.maybeAbort(ctx, policy);
  }

  onStreamComplete(): void {
    if (this.active) this.opts.stats.activeFaults--;
    this.active = false;
  }

  private maybeAbort(ctx: RequestContext, policy: FaultPolicy): HookResult {
    const a = policy.abort;
    if (!a || !this.picked(a.perMillion) || !this.tryActivate()) return CONTINUE;
    this.opts.stats.abortsInjected++;
    const grpc = a.grpcStatus !== undefined && (ctx.headers.get('content-type') ?? '').startsWith('application/grpc');
    return respond({
      status: a.httpStatus,
      body: ABORT_BODY,
      responseFlag: 'FI',
      details: ABORT_DETAILS,
      ...(grpc ? { headers: { 'grpc-status': String(a.grpcStatus) } } : {}),
    });
  }

  private picked(perMillion: number): boolean {
    if (perMillion >= PER_MILLION) return true;
    if (perMillion <= 0) return false;
    return Math.floor(this.opts.random() * PER_MILLION) < perMillion;
  }

  /** Envoy's `tryIncActiveFaults`: one stream counts once, however many faults it gets. */
  private tryActivate(): boolean {
    if (this.active) return true;
    const max = this.opts.maxActiveFaults;
    if (max !== undefined && this.opts.stats.activeFaults >= max) {
      this.opts.stats.faultsOverflow++;
      return false;
    }
    this.opts.stats.activeFaults++;
    this.active = true;
    return true;
  }
}

/** The fault filter of one service port; created only when some route of it has a fault. */
export function createFaultFactory(opts: FaultFilterOptions): FilterFactory {
  return Object.freeze({
    name: FAULT_FILTER_NAME,
    phase: 'FAULT' as const,
    create: (): StreamFilter => new FaultStreamFilter(opts),
  });
}
