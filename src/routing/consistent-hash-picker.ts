/**
 * DestinationRule `consistentHash`: the same key (header, cookie, source IP, query parameter)
 * lands on the same endpoint while the endpoint set is unchanged, and on mostly the same ones
 * when it changes — Envoy's ring hash and Maglev. The ring (or Maglev table) is built once per
 * snapshot; a request hashes its key (FNV-1a, 32 bit) and does one binary search or one array
 * read. A request without the key gets a random endpoint, as Envoy does.
 */
import type { ConsistentHashIR, HashKeyIR } from '../config/ir-routes.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { EndpointPicker, PickContext } from '../waypoint/router.js';
import { endpointAddress } from '../upstream/lb.js';

/**
 * FNV-1a over UTF-16 code units, finished with murmur3's `fmix32` so keys that differ only in
 * their last characters (`user-1`, `user-2`; `ip:port_0`, `ip:port_1`) still land far apart on
 * the ring. `seed` gives Maglev its second, independent hash.
 */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The request's hash key, or `undefined` when the request does not carry it. */
export function hashKeyOf(key: HashKeyIR, ctx: PickContext): string | undefined {
  switch (key.kind) {
    case 'header':
      return ctx.headers?.get(key.name);
    case 'sourceIp':
      return ctx.source.address;
    case 'cookie':
      return cookieValue(ctx.headers?.get('cookie'), key.name);
    case 'queryParameter':
      return ctx.path === undefined ? undefined : queryValue(ctx.path, key.name);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const part of path.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

/** Envoy's ring hash: `minimumRingSize` points spread evenly over the endpoints. */
class RingHashPicker implements EndpointPicker {
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;

  constructor(
    private readonly key: HashKeyIR,
    private readonly endpoints: readonly Endpoint[],
    minimumRingSize: number,
    private readonly random: () => number,
  ) {
    const n = endpoints.length;
    const per = n === 0 ? 0 : Math.ceil(minimumRingSize / n);
    const entries: [number, number][] = [];
    endpoints.forEach((ep, i) => {
      const name = endpointAddress(ep);
      for (let r = 0; r < per; r++) entries.push([fnv1a(`${name}_${r}`), i]);
    });
    entries.sort((a, b) => a[0] - b[0]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = Int32Array.from(entries, (e) => e[1]);
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const k = hashKeyOf(this.key, ctx);
    if (k === undefined) return this.endpoints[Math.floor(this.random() * n) % n];
    const h = fnv1a(k);
    // First point at or after h, wrapping around.
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return this.endpoints[this.owners[lo === this.points.length ? 0 : lo] as number];
  }
}

/** Envoy's default Maglev table size (a prime). */
const MAGLEV_TABLE_SIZE = 65537;

/** Maglev (Eisenbud et al.): a lookup table filled by each endpoint's permutation in turn. */
class MaglevPicker implements EndpointPicker {
  private readonly table: Int32Array;

  constructor(
    private readonly key: HashKeyIR,
    private readonly endpoints: readonly Endpoint[],
    private readonly random: () => number,
  ) {
    const m = MAGLEV_TABLE_SIZE;
    const n = endpoints.length;
    this.table = new Int32Array(n === 0 ? 0 : m).fill(-1);
    if (n === 0) return;
    const offset = endpoints.map((ep) => fnv1a(endpointAddress(ep)) % m);
    const skip = endpoints.map((ep) => (fnv1a(endpointAddress(ep), 0x9747b28c) % (m - 1)) + 1);
    const next = new Array<number>(n).fill(0);
    let filled = 0;
    for (;;) {
      for (let i = 0; i < n; i++) {
        let c = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        while ((this.table[c] as number) >= 0) {
          next[i] = (next[i] as number) + 1;
          c = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        }
        this.table[c] = i;
        next[i] = (next[i] as number) + 1;
        if (++filled === m) return;
      }
    }
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const k = hashKeyOf(this.key, ctx);
    if (k === undefined) return this.endpoints[Math.floor(this.random() * n) % n];
    return this.endpoints[this.table[fnv1a(k) % MAGLEV_TABLE_SIZE] as number];
  }
}

export function consistentHashPicker(hash: ConsistentHashIR, endpoints: readonly Endpoint[], random: () => number): EndpointPicker {
  return hash.algorithm === 'maglev' ? new MaglevPicker(hash.key, endpoints, random) : new RingHashPicker(hash.key, endpoints, hash.minimumRingSize, random);
}
