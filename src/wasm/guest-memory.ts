/**
 * Bounds-checked access to a plugin's linear memory. Every pointer a plugin hands the host is
 * checked against the current memory size; a bad one gives `INVALID_MEMORY_ACCESS` to the plugin,
 * never an exception in the proxy. Views are taken fresh per access because memory growth (inside
 * the plugin, or from the allocator we call) detaches the old buffer.
 */
import { Status } from './abi.js';

const EMPTY = Buffer.alloc(0);

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private alloc: ((size: number) => number) | undefined;

  bind(memory: WebAssembly.Memory, alloc: (size: number) => number): void {
    this.memory = memory;
    this.alloc = alloc;
  }

  private ab: ArrayBuffer | undefined;
  private dv: DataView | undefined;

  private buffer(): ArrayBuffer {
    if (!this.memory) throw new Error('plugin memory not bound');
    return this.memory.buffer;
  }

  /** A DataView of the current buffer, re-created only after growth detached the old one. */
  private view(): DataView {
    const b = this.buffer();
    if (b !== this.ab || !this.dv) {
      this.ab = b;
      this.dv = new DataView(b);
    }
    return this.dv;
  }

  private inRange(ptr: number, len: number): boolean {
    const p = ptr >>> 0;
    const l = len >>> 0;
    return p + l <= this.buffer().byteLength;
  }

  /** A copy of `len` bytes at `ptr`, or undefined when out of bounds. */
  read(ptr: number, len: number): Buffer | undefined {
    if (len === 0) return EMPTY;
    if (!this.inRange(ptr, len)) return undefined;
    return Buffer.from(new Uint8Array(this.buffer(), ptr >>> 0, len >>> 0));
  }

  readString(ptr: number, len: number): string | undefined {
    if (len === 0) return '';
    if (!this.inRange(ptr, len)) return undefined;
    return Buffer.from(this.buffer(), ptr >>> 0, len >>> 0).toString('utf8');
  }

  /** Bytes as a latin1 string (one char per byte): how header values are held. */
  readBytesString(ptr: number, len: number): string | undefined {
    if (len === 0) return '';
    if (!this.inRange(ptr, len)) return undefined;
    return Buffer.from(this.buffer(), ptr >>> 0, len >>> 0).toString('latin1');
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
    new Uint8Array(this.buffer(), ptr >>> 0, data.length).set(data);
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
    return Buffer.from(this.buffer(), ptr, len).toString('utf16le');
  }
}
