/**
 * The timers of one exchange: the route timeout (all attempts and back-offs), the per-try timeout
 * (one attempt, until its response headers) and a retry's back-off. Callbacks are module
 * functions that get their target as argument: no closure per request.
 */

/** What the timers call. */
export interface TimerTarget {
  onTimeout(perTry: boolean): void;
  onBackoff(): void;
}

function onRouteTimeout(t: ExchangeTimers): void {
  t.route = undefined;
  t.target.onTimeout(false);
}

function onPerTryTimeout(t: ExchangeTimers): void {
  t.perTry = undefined;
  t.target.onTimeout(true);
}

function onBackoffDone(t: ExchangeTimers): void {
  t.backoff = undefined;
  t.target.onBackoff();
}

export class ExchangeTimers {
  /** @internal */
  route: NodeJS.Timeout | undefined;
  /** @internal */
  perTry: NodeJS.Timeout | undefined;
  /** @internal */
  backoff: NodeJS.Timeout | undefined;

  constructor(readonly target: TimerTarget) {}

  startRoute(ms: number): void {
    if (ms > 0 && !this.route) this.route = setTimeout(onRouteTimeout, ms, this).unref();
  }

  /** (Re)starts the per-try timer for a new attempt. */
  startTry(ms: number): void {
    this.stopTry();
    if (ms > 0) this.perTry = setTimeout(onPerTryTimeout, ms, this).unref();
  }

  stopTry(): void {
    if (this.perTry) clearTimeout(this.perTry);
    this.perTry = undefined;
  }

  startBackoff(ms: number): void {
    this.backoff = setTimeout(onBackoffDone, ms, this).unref();
  }

  clear(): void {
    if (this.route) clearTimeout(this.route);
    if (this.backoff) clearTimeout(this.backoff);
    this.route = undefined;
    this.backoff = undefined;
    this.stopTry();
  }
}
