/**
 * The WASI preview1 subset real plugin builds import (Rust wasip1, TinyGo, Go wasip1, emscripten,
 * AssemblyScript wasi-shim), with cpp-host's answers: stdout/stderr go to the proxy log, the
 * plugin's environment is its `vmConfig.env` (never the proxy's), no files, no preopens, clocks
 * and randomness work, `poll_oneoff` succeeds (the Go runtime needs it). Anything else answers
 * NOSYS, so a module importing it still links.
 */
const { randomFillSync } = process.getBuiltinModule('node:crypto');
import { Errno } from './abi.js';
import type { GuestMemory } from './guest-memory.js';

/** Thrown by `proc_exit`: unwinds the plugin; exit code 0 during `_start` is success. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`plugin called proc_exit(${code})`);
  }
}

export interface WasiHost {
  readonly memory: GuestMemory;
  /** The plugin's environment (`vmConfig.env`). */
  readonly env: ReadonlyMap<string, string>;
  /** fd 1 → info, fd 2 → error. */
  stdio(fd: 1 | 2, text: string): void;
}

type WasiFn = (...args: never[]) => number | void;

const MAX_RANDOM = 64 * 1024;
/** POSIX IOV_MAX, as WASI runtimes use. */
const IOV_MAX = 1024;
const HR_START = process.hrtime.bigint();

export function wasiImports(host: WasiHost): Record<string, WasiFn> {
  const m = host.memory;
  const envBytes = (): Buffer[] => [...host.env].map(([k, v]) => Buffer.from(`${k}=${v}\0`, 'utf8'));
  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      // i32 arrives signed, and a count past IOV_MAX would wrap `iovsLen * 8` past 2^32.
      if (iovsLen < 0 || iovsLen > IOV_MAX) return Errno.INVAL;
      const spec = m.read(iovs, iovsLen * 8);
      if (!spec) return Errno.FAULT;
      let text = '';
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const chunk = m.read(spec.readUInt32LE(i * 8), spec.readUInt32LE(i * 8 + 4));
        if (!chunk) return Errno.FAULT;
        text += chunk.toString('utf8');
        total += chunk.length;
      }
      if (!m.writeU32(nwrittenPtr, total)) return Errno.FAULT;
      const line = text.endsWith('\n') ? text.slice(0, -1) : text;
      if (line !== '') host.stdio(fd, line);
      return Errno.SUCCESS;
    },
    fd_read: (): number => Errno.NOSYS,
    fd_pread: (): number => Errno.NOSYS,
    fd_pwrite: (): number => Errno.NOSYS,
    fd_seek: (): number => Errno.SUCCESS,
    fd_close: (): number => Errno.SUCCESS,
    fd_sync: (): number => Errno.SUCCESS,
    fd_fdstat_get(fd: number, ptr: number): number {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      if (!m.writeBytes(ptr, new Uint8Array(24))) return Errno.FAULT;
      m.writeU64(ptr + 8, 64n);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags: (): number => Errno.NOSYS,
    fd_prestat_get: (): number => Errno.BADF,
    fd_prestat_dir_name: (): number => Errno.NOSYS,
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const e = envBytes();
      if (!m.writeU32(countPtr, e.length) || !m.writeU32(sizePtr, e.reduce((n, b) => n + b.length, 0))) return Errno.FAULT;
      return Errno.SUCCESS;
    },
    environ_get(environPtr: number, bufPtr: number): number {
      let p = bufPtr;
      let i = 0;
      for (const b of envBytes()) {
        if (!m.writeU32(environPtr + i * 4, p) || !m.writeBytes(p, b)) return Errno.FAULT;
        p += b.length;
        i++;
      }
      return Errno.SUCCESS;
    },
    args_sizes_get(countPtr: number, sizePtr: number): number {
      return m.writeU32(countPtr, 0) && m.writeU32(sizePtr, 0) ? Errno.SUCCESS : Errno.FAULT;
    },
    args_get: (): number => Errno.SUCCESS,
    clock_time_get(id: number, _precision: bigint, ptr: number): number {
      let ns: bigint;
      if (id === 0) ns = BigInt(Date.now()) * 1_000_000n;
      else if (id === 1) ns = process.hrtime.bigint() - HR_START;
      else return Errno.NOTSUP;
      return m.writeU64(ptr, ns) ? Errno.SUCCESS : Errno.FAULT;
    },
    clock_res_get(id: number, ptr: number): number {
      if (id !== 0 && id !== 1) return Errno.NOTSUP;
      return m.writeU64(ptr, id === 0 ? 1_000_000n : 1n) ? Errno.SUCCESS : Errno.FAULT;
    },
    random_get(ptr: number, len: number): number {
      if (len < 0 || len > MAX_RANDOM) return Errno.INVAL;
      const b = Buffer.alloc(len);
      randomFillSync(b);
      return m.writeBytes(ptr, b) ? Errno.SUCCESS : Errno.FAULT;
    },
    poll_oneoff: (): number => Errno.SUCCESS,
    sched_yield: (): number => Errno.SUCCESS,
    proc_exit(code: number): void {
      throw new ProcExit(code);
    },
  };
}

/** Stub for an unknown WASI import: links, and answers NOSYS. */
export const WASI_NOSYS = (): number => Errno.NOSYS;
