/**
 * The rapid-reset bound (CVE-2023-44487): streams a client opens and then resets (or that we
 * must refuse) cost work without a response to show for it. A token bucket, as nghttp2's stream
 * reset rate limit: a burst of {@link BURST}, refilled at {@link PER_SECOND}; a connection that
 * empties it is told ENHANCE_YOUR_CALM and closed. Ordinary clients cancel a few streams now and
 * then and never come near it.
 */
const BURST = 1000;
const PER_SECOND = 100;

export class ResetBudget {
  private tokens = BURST;
  private last = Date.now();

  /** Charges one premature reset; false when the budget is spent. */
  charge(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(BURST, this.tokens + (elapsed * PER_SECOND) / 1000);
      this.last = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0;
  }
}
