/**
 * A cursor over WebAssembly binary bytes (the binary format of the core spec, §5): LEB128
 * integers, names and the few composite encodings (value types, limits) that the loop
 * instrumenter must step over. Every read is bounds-checked and throws {@link WasmFormatError}
 * past the end, so a truncated or hostile module fails with a message instead of reading garbage.
 */
export class WasmFormatError extends Error {}

export class WasmByteReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of data at offset ${this.pos}`);
    return this.bytes[this.pos++] as number;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new WasmFormatError(`u32 out of range at offset ${this.pos}`);
        return result;
      }
      shift += 7;
    }
    throw new WasmFormatError(`u32 LEB128 longer than 5 bytes at offset ${this.pos}`);
  }

  /** Steps over any LEB128 (signed or unsigned) of at most `maxBytes` bytes (s33: 5, s64/u64: 10). */
  skipLeb(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) if ((this.u8() & 0x80) === 0) return;
    throw new WasmFormatError(`LEB128 longer than ${maxBytes} bytes at offset ${this.pos}`);
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new WasmFormatError(`${n} bytes at offset ${this.pos} run past the end`);
    this.pos += n;
  }

  /** A length-prefixed UTF-8 name. */
  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, len).toString('utf8');
  }

  /** A value type: a one-byte type, or `(ref null? heaptype)` (0x63 / 0x64 + s33). */
  valType(): void {
    const b = this.u8();
    if (b === 0x63 || b === 0x64) this.skipLeb(5);
  }

  /** A block type: empty (0x40), a value type, or a type index (s33). */
  blockType(): void {
    const b = this.bytes[this.pos];
    if (b === 0x63 || b === 0x64) this.valType();
    else this.skipLeb(5);
  }

  /** Memory and table limits: flags, min, optional max, optional custom page size. */
  limits(): void {
    const flags = this.u8();
    this.skipLeb(10);
    if (flags & 0x01) this.skipLeb(10);
    if (flags & 0x08) this.skipLeb(5);
  }

  /** A memory argument: alignment (bit 6: a memory index follows), offset (u64 with memory64). */
  memArg(): void {
    const align = this.u32();
    if (align & 0x40) this.skipLeb(5);
    this.skipLeb(10);
  }
}

/** Unsigned LEB128 encoding of a u32. */
export function encodeU32(value: number): Uint8Array {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return Uint8Array.from(out);
}

/** Signed LEB128 encoding of an i32. */
export function encodeS32(value: number): Uint8Array {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return Uint8Array.from(out);
  }
}
