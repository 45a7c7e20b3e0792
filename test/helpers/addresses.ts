/**
 * Address blocks for hermetic tests. Every test file takes its own random /24 in each local range
 * of the design (pods 127.1/16, waypoints 127.2/16, VIPs 127.100/16, nodes 127.3/16), so files that
 * run at the same time never bind the same `ip:15008`.
 */
import { randomInt } from 'node:crypto';

export interface AddressBlock {
  pod(n: number): string;
  waypoint(n: number): string;
  vip(n: number): string;
  node(n: number): string;
}

export function allocateBlock(): AddressBlock {
  const third = randomInt(1, 255);
  const host = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > 254) throw new RangeError(`host number ${n} outside 1..254`);
    return n;
  };
  return {
    pod: (n) => `127.1.${third}.${host(n)}`,
    waypoint: (n) => `127.2.${third}.${host(n)}`,
    vip: (n) => `127.100.${third}.${host(n)}`,
    node: (n) => `127.3.${third}.${host(n)}`,
  };
}
