/**
 * One attempt of an HTTP exchange at one endpoint: the undici dispatch handler of that attempt.
 *
 * A retried request has several attempts, and an abandoned attempt (per-try timeout, a retried
 * 5xx, a filter that replaced the response) may still get late callbacks from undici after it
 * was aborted. Each attempt is its own handler object, so the exchange only ever hears from its
 * current attempt: a cancelled one reports nothing more, and gives its balancer slot back once.
 *
 * It uses undici's classic handler callbacks (`onConnect`/`onHeaders`/`onData`/`onComplete`/
 * `onError`/`onBodySent`) rather than the newer controller API: undici 7 wraps a new-style handler
 * in an adapter object per request and re-parses headers into an object, and only the classic set
 * reports request body bytes sent.
 */
import type { Dispatcher } from 'undici';
import type { Endpoint } from '../state/mesh-view.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';

/** What an attempt reports to (the exchange). Called only while the attempt is current. */
export interface AttemptOwner {
  attemptHeaders(a: UpstreamAttempt, status: number, raw: Buffer[] | string[], resume: () => void): boolean;
  attemptData(a: UpstreamAttempt, chunk: Buffer): boolean;
  attemptComplete(a: UpstreamAttempt, trailers: Buffer[] | string[] | null): void;
  attemptError(a: UpstreamAttempt, err: Error): void;
  attemptBodySent(a: UpstreamAttempt, chunk: Buffer | string | number): void;
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  /** undici put the request on a connection (its bytes may have reached the upstream). */
  connected = false;
  /** `Date.now()` at dispatch. */
  readonly startedAt = Date.now();
  private abortFn: ((err?: Error) => void) | undefined;
  private resumeFn: (() => void) | undefined;
  private cancelled = false;
  private released = false;
  /** undici reported the end (complete or error): nothing left to abort. */
  private settled = false;

  constructor(
    private readonly owner: AttemptOwner,
    private readonly lb: LeastRequestBalancer,
    readonly endpoint: Endpoint,
    /** 1 for the first try (`x-envoy-attempt-count`). */
    readonly number: number,
  ) {
    lb.begin(endpoint);
  }

  /** Stops the attempt: aborts the upstream request, frees its slot; no more reports. */
  cancel(reason: string): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.release();
    if (!this.settled) this.abortFn?.(new Error(reason));
  }

  /** Lets undici read the upstream again (the downstream drained). */
  resume(): void {
    if (!this.cancelled) this.resumeFn?.();
  }

  /** The attempt is over (completed or failed): its endpoint no longer counts it. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.lb.end(this.endpoint);
  }

  // --- undici handler (classic callbacks) ---

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.connected = true;
    // Cancelled before undici got to it: not yet connected, so abort now.
    if (this.cancelled) abort(new Error('request no longer wanted'));
  }

  /** undici 7 passes the chunk here (its typings say a size): the owner accepts both. */
  onBodySent(chunk: Buffer | string | number): void {
    if (!this.cancelled) this.owner.attemptBodySent(this, chunk);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void): boolean {
    if (this.cancelled) return false;
    this.resumeFn = resume;
    return this.owner.attemptHeaders(this, statusCode, rawHeaders ?? [], resume);
  }

  onData(chunk: Buffer): boolean {
    if (this.cancelled) return true;
    return this.owner.attemptData(this, chunk);
  }

  onComplete(rawTrailers: Buffer[] | string[] | null): void {
    this.settled = true;
    this.release();
    if (!this.cancelled) this.owner.attemptComplete(this, rawTrailers);
  }

  onError(err: Error): void {
    this.settled = true;
    this.release();
    if (this.cancelled) return;
    this.cancelled = true;
    this.owner.attemptError(this, err);
  }
}
