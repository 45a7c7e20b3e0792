/**
 * Address blocks for hermetic tests. Every test file takes its own /24 in each local range of the
 * design (pods 127.1/16, waypoints 127.2/16, VIPs 127.100/16, nodes 127.3/16), so files that run at
 * the same time never bind the same `ip:15008`.
 *
 * Blocks are reserved across processes with an exclusive lock file per third octet
 * (`<tmp>/ambient-test-blocks/<n>.lock`, holding the owner's pid), released when the process
 * exits; a lock whose owner is dead is taken over. Random choice alone collided (two files drawing
 * the same /24 about once per few runs).
 */
import { randomInt } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AddressBlock {
  pod(n: number): string;
  waypoint(n: number): string;
  vip(n: number): string;
  node(n: number): string;
}

const LOCK_DIR = path.join(os.tmpdir(), 'ambient-test-blocks');
const owned: string[] = [];
let cleanupInstalled = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but is not ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(third: number): boolean {
  const file = path.join(LOCK_DIR, `${third}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      owned.push(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let pid = NaN;
      try {
        pid = Number(readFileSync(file, 'utf8'));
      } catch {
        // Removed meanwhile: try again.
      }
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) return false;
      try {
        unlinkSync(file); // stale: its owner is gone
      } catch {
        // Another process took it over first.
      }
    }
  }
  return false;
}

function reserveThirdOctet(): number {
  mkdirSync(LOCK_DIR, { recursive: true });
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => {
      for (const f of owned) {
        try {
          unlinkSync(f);
        } catch {
          // Already gone.
        }
      }
    });
  }
  // Blocks 1..199 are for tests; 200..254 stay free for `npm run bench` and people.
  const start = randomInt(1, 200);
  for (let i = 0; i < 199; i++) {
    const third = ((start - 1 + i) % 199) + 1;
    if (tryLock(third)) return third;
  }
  throw new Error(`no free test address block under ${LOCK_DIR}`);
}

export function allocateBlock(): AddressBlock {
  const third = reserveThirdOctet();
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
