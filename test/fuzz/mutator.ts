/**
 * A small seeded mutation engine for property-based fuzzing: byte-level mutations of seed inputs
 * (flip, insert, delete, duplicate, splice in interesting bytes, truncate) and random strings over
 * a hostile alphabet. Everything comes from one seeded PRNG, so a finding is reproduced by its
 * (target, seed, iteration).
 */
import { seededRandom } from '../helpers/seeded-random.js';

/** Bytes that break parsers: delimiters, line ends, NUL, high bytes, quotes, escapes. */
const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x09, 0x22, 0x25, 0x2c, 0x3a, 0x3b, 0x3d, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 0x5c, 0x2f, 0x40];

export class Mutator {
  readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  /** One to four random mutations of `seed`. */
  mutate(seed: Buffer): Buffer {
    let b: Buffer = Buffer.from(seed);
    const n = 1 + this.int(4);
    for (let k = 0; k < n; k++) b = this.mutateOnce(b);
    return b;
  }

  private mutateOnce(b: Buffer): Buffer {
    const at = b.length === 0 ? 0 : this.int(b.length);
    switch (this.int(7)) {
      case 0: {
        if (b.length === 0) return Buffer.from([this.int(256)]);
        const c = Buffer.from(b);
        c[at] = (c[at] as number) ^ (1 << this.int(8));
        return c;
      }
      case 1:
        return Buffer.concat([b.subarray(0, at), Buffer.from([this.pick(INTERESTING)]), b.subarray(at)]);
      case 2:
        return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + this.int(8))]);
      case 3: {
        const len = 1 + this.int(Math.max(1, Math.min(32, b.length - at)));
        return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
      }
      case 4:
        return b.subarray(0, at);
      case 5: {
        const len = 1 + this.int(16);
        const r = Buffer.alloc(len);
        for (let i = 0; i < len; i++) r[i] = this.int(256);
        return Buffer.concat([b.subarray(0, at), r, b.subarray(at)]);
      }
      default: {
        if (b.length === 0) return b;
        const c = Buffer.from(b);
        c[at] = this.pick(INTERESTING);
        return c;
      }
    }
  }

  /** A random string over printable ASCII plus the interesting bytes, up to `max` long. */
  string(max: number): string {
    const len = this.int(max + 1);
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(this.chance(0.2) ? this.pick(INTERESTING) : 0x20 + this.int(95));
    return s;
  }

  /** Splits `b` into 1..4 chunks (parsers must not depend on chunk boundaries). */
  chunks(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rest = b;
    const n = this.int(4);
    for (let i = 0; i < n && rest.length > 1; i++) {
      const at = 1 + this.int(rest.length - 1);
      out.push(rest.subarray(0, at));
      rest = rest.subarray(at);
    }
    out.push(rest);
    return out;
  }
}
