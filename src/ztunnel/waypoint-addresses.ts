/**
 * Which of a waypoint's addresses an outbound connection tries, and in what order.
 *
 * A waypoint Gateway may list several addresses (one per replica). ztunnel spreads connections
 * across them and, when one cannot be reached (a replica restarting or draining: its listener
 * is closed, its pooled HBONE connection got GOAWAY), tries the next one before answering the
 * client, so a rolling restart fails nothing. An address that failed is passed over for a short
 * while (like Envoy's outlier ejection, without the statistics) so the next connections do not
 * each pay for a refused dial; it comes back on its own, which is how a restarted replica gets
 * traffic again.
 */

/** How long an address that failed a dial is tried last. */
export const WAYPOINT_EJECT_MS = 1000;

export class WaypointAddresses {
  /** address → time until which it is tried last. */
  private readonly ejected = new Map<string, number>();
  private next = 0;

  constructor(
    private readonly ejectMs = WAYPOINT_EJECT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The addresses to try, in order: healthy ones first, starting at a rotating offset (round
   * robin across connections), then ejected ones (a dial to an ejected address beats refusing
   * the client when every replica looks down).
   */
  order(addresses: readonly string[]): string[] {
    const n = addresses.length;
    if (n <= 1) return [...addresses];
    const start = this.next++ % n;
    if (this.next >= Number.MAX_SAFE_INTEGER) this.next = 0;
    const t = this.now();
    const healthy: string[] = [];
    const ejected: string[] = [];
    for (let k = 0; k < n; k++) {
      const a = addresses[(start + k) % n] as string;
      const until = this.ejected.get(a);
      if (until !== undefined && until > t) ejected.push(a);
      else {
        if (until !== undefined) this.ejected.delete(a);
        healthy.push(a);
      }
    }
    return healthy.concat(ejected);
  }

  /** A dial to `address` failed at the transport (nothing answered, or it refused new streams). */
  failed(address: string): void {
    this.ejected.set(address, this.now() + this.ejectMs);
  }

  /** A dial succeeded: the address is healthy again. */
  succeeded(address: string): void {
    if (this.ejected.size > 0) this.ejected.delete(address);
  }
}
