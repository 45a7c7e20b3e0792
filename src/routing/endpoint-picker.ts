/**
 * DestinationRule `loadBalancer.simple` policies other than the default least-request:
 * `ROUND_ROBIN` (a rotating index per backend, kept with the snapshot's route table) and
 * `RANDOM`. `LEAST_REQUEST` (and `PASSTHROUGH`, which has no meaning behind a waypoint) use the
 * waypoint's shared {@link import('../upstream/lb.js').LeastRequestBalancer}: no picker.
 */
import type { ConsistentHashIR, LoadBalancerIR } from '../config/ir-routes.js';
import { consistentHashPicker } from './consistent-hash-picker.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { EndpointPicker } from '../waypoint/router.js';

class RoundRobinPicker implements EndpointPicker {
  private next = 0;

  constructor(private readonly endpoints: readonly Endpoint[]) {}

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const ep = this.endpoints[this.next % n];
    this.next = (this.next + 1) % n;
    return ep;
  }
}

class RandomPicker implements EndpointPicker {
  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly random: () => number,
  ) {}

  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    return n === 0 ? undefined : this.endpoints[Math.floor(this.random() * n) % n];
  }
}

/**
 * The picker for a policy, or `undefined` for the shared least-request balancer. A consistent
 * hash wins over `simple` (one `oneof` in Istio).
 */
export function pickerFor(
  policy: LoadBalancerIR | undefined,
  endpoints: readonly Endpoint[],
  random: () => number,
  hash?: ConsistentHashIR,
): EndpointPicker | undefined {
  if (hash) return consistentHashPicker(hash, endpoints, random);
  switch (policy) {
    case 'ROUND_ROBIN':
      return new RoundRobinPicker(endpoints);
    case 'RANDOM':
      return new RandomPicker(endpoints, random);
    case 'LEAST_REQUEST':
    case 'PASSTHROUGH':
    case undefined:
      return undefined;
  }
}
