/**
 * Bounds-checked access to a plugin's linear memory. Every pointer a plugin hands the host is
 * checked against the current memory size; a bad one gives `INVALID_MEMORY_ACCESS` to the plugin,
 * never an exception in the proxy. Views are taken fresh per access because memory growth (inside
 * the plugin, or from the allocator we call) detaches the old buffer: the host keeps one view of the
 * whole memory and takes a new one only when the old one was detached (growth leaves it empty), so
 * an access costs no `Memory.buffer` call and no view allocation.
 */
import { Status } from './abi.js';

const EMPTY = Buffer.alloc(0);

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private alloc: ((size: number) => number) | undefined;
  /** The whole memory as of the last access (empty until bound). */
  private bytes: Buffer = EMPTY;
  private dv: DataView | undefined;

  bind(memory: WebAssembly.Memory, alloc: (size: number) => number): void {
    this.memory = memory;
    this.alloc = alloc;
    this.bytes = EMPTY;
    this.dv = undefined;
  }

  /** The current memory; re-taken after growth detached the previous buffer. */
  private current(): Buffer {
    const b = this.bytes;
    if (b.length !== 0) return b;
    if (!this.memory) throw new Error('plugin memory not bound');
    const ab = this.memory.buffer;
    this.bytes = Buffer.from(ab, 0, ab.byteLength);
    this.dv = new DataView(ab);
    return this.bytes;
  }

  /** A DataView of the current buffer, re-created only after growth detached the old one. */
  private view(): DataView {
    this.current();
    return this.dv as DataView;
  }

  private inRange(ptr: number, len: number): boolean {
    const p = ptr >>> 0;
    const l = len >>> 0;
    return p + l <= this.current().length;
  }

  /** A copy of `len` bytes at `ptr`, or undefined when out of bounds. */
  read(ptr: number, len: number): Buffer | undefined {
    if (len === 0) return EMPTY;
    if (!this.inRange(ptr, len)) return undefined;
    const p = ptr >>> 0;
    return Buffer.from(this.bytes.subarray(p, p + (len >>> 0)));
  }

  readString(ptr: number, len: number): string | undefined {
    if (len === 0) return '';
    if (!this.inRange(ptr, len)) return undefined;
    const p = ptr >>> 0;
    return this.bytes.toString('utf8', p, p + (len >>> 0));
  }

  /** Bytes as a latin1 string (one char per byte): how header values are held. */
  readBytesString(ptr: number, len: number): string | undefined {
    if (len === 0) return '';
    if (!this.inRange(ptr, len)) return undefined;
    const p = ptr >>> 0;
    return this.bytes.toString('latin1', p, p + (len >>> 0));
  }

  writeU32(ptr: number, value: number): boolean {
    if (!this.inRange(ptr, 4)) return false;
    this.view().setUint32(ptr >>> 0, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    if (!this.inRange(ptr, 8)) return false;
    this.view().setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
    return true;
  }

  writeBytes(ptr: number, data: Uint8Array): boolean {
    if (data.length === 0) return true;
    if (!this.inRange(ptr, data.length)) return false;
    this.bytes.set(data, ptr >>> 0);
    return true;
  }

  /**
   * Hands bytes to the plugin the way cpp-host's `copyToPointerSize` does: allocate with the
   * plugin's allocator, copy, write pointer and size. Zero bytes write (0, 0) without allocating.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): number {
    if (!this.inRange(ptrPtr, 4) || !this.inRange(sizePtr, 4)) return Status.INVALID_MEMORY_ACCESS;
    if (data.length === 0) {
      this.writeU32(ptrPtr, 0);
      this.writeU32(sizePtr, 0);
      return Status.OK;
    }
    if (!this.alloc) return Status.INTERNAL_FAILURE;
    const p = this.alloc(data.length) >>> 0;
    if (p === 0 || !this.writeBytes(p, data)) return Status.INVALID_MEMORY_ACCESS;
    this.writeU32(ptrPtr, p);
    this.writeU32(sizePtr, data.length);
    return Status.OK;
  }

  /** Reads an AssemblyScript string (UTF-16, byte length at ptr-4), for `env.abort`. */
  readAsString(ptr: number): string {
    if (ptr < 4 || !this.inRange(ptr - 4, 4)) return '';
    const len = this.view().getUint32(ptr - 4, true);
    if (!this.inRange(ptr, len)) return '';
    return this.bytes.toString('utf16le', ptr, ptr + len);
  }
}
