/**
 * The timers of one downstream HTTP/1.1 connection in a single `setTimeout`: the request-headers
 * timeout (slowloris: 408), the stream idle timeout of the request in flight (Envoy's
 * `stream_idle_timeout`) and the connection idle timeout (Envoy's `idle_timeout`).
 *
 * Activity is a timestamp the connection updates on every read and write; the timer never fires
 * later than the shortest of the three durations after it was armed and re-evaluates when it
 * does, so moving between states (idle, reading a head, busy) never touches a timer: one timer
 * per connection, re-armed a few times per minute at most, whatever the request rate.
 */

export const enum ClockPhase {
  /** No request in flight and no byte of the next one. */
  Idle,
  /** Bytes of a request head are arriving (or the tunnel just opened). */
  Head,
  /** A request is in flight. */
  Busy,
  /** Nothing more to time. */
  Off,
}

export interface ClockOwner {
  readonly phase: ClockPhase;
  /** When the current head began (Head phase). */
  readonly headStart: number;
  /** The last byte read or written. */
  readonly lastActivity: number;
  headersTimedOut(): void;
  streamIdle(): void;
  connectionIdle(): void;
}

export interface ClockLimits {
  readonly requestHeadersTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

function usable(ms: number): boolean {
  return ms > 0 && Number.isFinite(ms);
}

export class ConnectionClock {
  private timer: NodeJS.Timeout | undefined;
  /** The longest the timer may sleep: the shortest duration in force. */
  private readonly period: number;

  constructor(
    private readonly owner: ClockOwner,
    private readonly limits: ClockLimits,
  ) {
    let p = Infinity;
    for (const ms of [limits.requestHeadersTimeoutMs, limits.streamIdleTimeoutMs, limits.idleTimeoutMs]) if (usable(ms)) p = Math.min(p, ms);
    this.period = p;
  }

  start(): void {
    if (this.period !== Infinity) this.arm(this.period);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.tick, Math.max(1, Math.min(ms, this.period)));
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const o = this.owner;
    const now = Date.now();
    let deadline = Infinity;
    switch (o.phase) {
      case ClockPhase.Off:
        return;
      case ClockPhase.Head:
        if (usable(this.limits.requestHeadersTimeoutMs)) {
          deadline = o.headStart + this.limits.requestHeadersTimeoutMs;
          if (now >= deadline) {
            o.headersTimedOut();
            return;
          }
        }
        break;
      case ClockPhase.Busy:
        if (usable(this.limits.streamIdleTimeoutMs)) {
          deadline = o.lastActivity + this.limits.streamIdleTimeoutMs;
          if (now >= deadline) {
            o.streamIdle();
            deadline = now + this.limits.streamIdleTimeoutMs;
          }
        }
        break;
      case ClockPhase.Idle:
        if (usable(this.limits.idleTimeoutMs)) {
          deadline = o.lastActivity + this.limits.idleTimeoutMs;
          if (now >= deadline) {
            o.connectionIdle();
            return;
          }
        }
        break;
    }
    this.arm(deadline === Infinity ? this.period : deadline - now);
  };
}
