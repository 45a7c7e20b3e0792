/**
 * Least-request load balancing, Envoy's and Istio's default (`LEAST_REQUEST`): with equal weights
 * Envoy uses "power of two choices": pick two hosts at random and take the one with fewer active
 * requests (ties go to the first pick). That spreads load almost as well as a full scan at O(1)
 * and avoids every proxy replica herding onto the same "least loaded" host.
 *
 * Active counts are per endpoint (`podIP:targetPort`) and live across config snapshots, so a
 * view change does not reset what is in flight. The caller brackets each request (or TCP
 * connection) with {@link LeastRequestBalancer.begin} and {@link LeastRequestBalancer.end}.
 */
import { formatAuthority } from '../hbone/authority.js';
import type { Endpoint } from '../state/mesh-view.js';

/** Returns a float in [0, 1), like `Math.random` (injectable for tests). */
export type RandomSource = () => number;

export class LeastRequestBalancer {
  private readonly active = new Map<string, number>();
  /** Endpoint objects are per snapshot and frozen: cache their key instead of concatenating per pick. */
  private readonly keys = new WeakMap<Endpoint, string>();

  constructor(private readonly random: RandomSource = Math.random) {}

  /**
   * Picks an endpoint among `endpoints`, skipping those `exclude` rejects (a retry's previous
   * host, later an outlier-ejected one). `undefined` when none is eligible.
   */
  pick(endpoints: readonly Endpoint[], exclude?: (ep: Endpoint) => boolean): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (!exclude) {
      if (n === 1) return endpoints[0];
      return this.pickTwo(endpoints, n);
    }
    // With an exclusion: P2C over the eligible ones. Counted first so the common case (few
    // endpoints, rare exclusions) needs no array.
    let eligible = 0;
    for (const ep of endpoints) if (!exclude(ep)) eligible++;
    if (eligible === 0) return undefined;
    if (eligible === n) return n === 1 ? endpoints[0] : this.pickTwo(endpoints, n);
    const list: Endpoint[] = [];
    for (const ep of endpoints) if (!exclude(ep)) list.push(ep);
    return list.length === 1 ? list[0] : this.pickTwo(list, list.length);
  }

  private pickTwo(endpoints: readonly Endpoint[], n: number): Endpoint {
    const i = Math.floor(this.random() * n) % n;
    // The second pick is drawn from the other n-1 hosts so the two choices differ.
    let j = Math.floor(this.random() * (n - 1)) % (n - 1);
    if (j >= i) j++;
    const a = endpoints[i] as Endpoint;
    const b = endpoints[j] as Endpoint;
    return this.activeOf(b) < this.activeOf(a) ? b : a;
  }

  /** Marks one more active request on `ep`. */
  begin(ep: Endpoint): void {
    const k = this.keyOf(ep);
    this.active.set(k, (this.active.get(k) ?? 0) + 1);
  }

  /** Marks one request on `ep` finished. Counts never go below zero; idle keys are dropped. */
  end(ep: Endpoint): void {
    const k = this.keyOf(ep);
    const n = (this.active.get(k) ?? 0) - 1;
    if (n <= 0) this.active.delete(k);
    else this.active.set(k, n);
  }

  /** Active requests on an endpoint right now. */
  activeOf(ep: Endpoint): number {
    return this.active.get(this.keyOf(ep)) ?? 0;
  }

  /** Active requests by `podIP:targetPort` (admin `/clusters`, tests). */
  snapshot(): ReadonlyMap<string, number> {
    return new Map(this.active);
  }

  private keyOf(ep: Endpoint): string {
    let k = this.keys.get(ep);
    if (k === undefined) {
      k = endpointAddress(ep);
      this.keys.set(ep, k);
    }
    return k;
  }
}

/** `podIP:targetPort` (`[v6]:port` for IPv6): Envoy's UPSTREAM_HOST for a waypoint endpoint. */
export function endpointAddress(ep: Endpoint): string {
  return formatAuthority(ep.workload.ip, ep.targetPort);
}
