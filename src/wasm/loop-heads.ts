/**
 * Finds the loop headers of one function body: the offsets just after each `loop` instruction's
 * block type, where the loop instrumenter inserts its fuel check. Finding them needs every
 * instruction's immediates stepped over (an opcode byte can also appear inside an immediate), so
 * this is a full one-pass decoder of the instruction encodings V8 accepts: MVP, sign extension,
 * saturating truncation, bulk memory, reference types, multi-value, tail calls, SIMD (with
 * relaxed SIMD), threads, exceptions (legacy and `try_table`), typed function references, GC,
 * multi-memory and memory64. It does not validate: V8 does that when it compiles the result.
 * One pass, no allocation per instruction: linear in the body's size.
 *
 * An opcode it does not know throws {@link WasmFormatError}; the caller then runs the module
 * uninstrumented (and says so) rather than guessing an immediate's length.
 */
import { WasmByteReader, WasmFormatError } from './wasm-byte-reader.js';

/** Offsets (into the reader's bytes) right after each `loop` block type, in order. */
export function findLoopHeads(r: WasmByteReader): number[] {
  const heads: number[] = [];
  while (!r.done) {
    const op = r.u8();
    if (op === 0x03) {
      r.blockType();
      heads.push(r.pos);
      continue;
    }
    skipImmediates(r, op);
  }
  return heads;
}

function skipImmediates(r: WasmByteReader, op: number): void {
  // Loads and stores (0x28–0x3e) take a memarg; every numeric op (0x45–0xc4) takes nothing.
  if (op >= 0x28 && op <= 0x3e) return r.memArg();
  if (op >= 0x45 && op <= 0xc4) return;
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
      return;
    case 0x02: // block
    case 0x04: // if
    case 0x06: // try
      return r.blockType();
    case 0x07: // catch
    case 0x08: // throw
    case 0x09: // rethrow
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size
    case 0x40: // memory.grow
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      r.skipLeb(5);
      return;
    case 0x0e: {
      // br_table: a vector of labels and the default label.
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.skipLeb(5);
      return;
    }
    case 0x11: // call_indirect: type, table
    case 0x13: // return_call_indirect
      r.skipLeb(5);
      r.skipLeb(5);
      return;
    case 0x1c: {
      // select with explicit result types
      const n = r.u32();
      for (let i = 0; i < n; i++) r.valType();
      return;
    }
    case 0x1f: {
      // try_table: block type, then catch clauses (kind, [tag], label)
      r.blockType();
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const kind = r.u8();
        if (kind === 0x00 || kind === 0x01) r.skipLeb(5);
        else if (kind !== 0x02 && kind !== 0x03) throw new WasmFormatError(`unknown try_table catch kind ${kind} at offset ${r.pos - 1}`);
        r.skipLeb(5);
      }
      return;
    }
    case 0x41: // i32.const
      r.skipLeb(5);
      return;
    case 0x42: // i64.const
      r.skipLeb(10);
      return;
    case 0x43: // f32.const
      return r.skip(4);
    case 0x44: // f64.const
      return r.skip(8);
    case 0xd0: // ref.null heaptype
      r.skipLeb(5);
      return;
    case 0xfb:
      return skipGc(r, r.u32());
    case 0xfc:
      return skipMisc(r, r.u32());
    case 0xfd:
      return skipSimd(r, r.u32());
    case 0xfe:
      return skipAtomic(r, r.u32());
    default:
      throw new WasmFormatError(`unknown opcode 0x${op.toString(16)} at offset ${r.pos - 1}`);
  }
}

/** 0xFC: saturating truncation (0–7, none), bulk memory and table instructions. */
function skipMisc(r: WasmByteReader, sub: number): void {
  if (sub <= 7) return;
  switch (sub) {
    case 8: // memory.init data, mem
    case 10: // memory.copy mem, mem
    case 12: // table.init elem, table
    case 14: // table.copy table, table
      r.skipLeb(5);
      r.skipLeb(5);
      return;
    case 9: // data.drop
    case 11: // memory.fill
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      r.skipLeb(5);
      return;
    default:
      throw new WasmFormatError(`unknown 0xfc opcode ${sub} at offset ${r.pos}`);
  }
}

/** 0xFD: SIMD (and relaxed SIMD, 0x100–0x113, no immediates). */
function skipSimd(r: WasmByteReader, sub: number): void {
  if (sub <= 11 || sub === 92 || sub === 93) return r.memArg(); // loads, stores, load_zero
  if (sub === 12 || sub === 13) return r.skip(16); // v128.const, i8x16.shuffle
  if (sub >= 21 && sub <= 34) return r.skip(1); // extract/replace lane
  if (sub >= 84 && sub <= 91) {
    // load/store lane: memarg, lane
    r.memArg();
    return r.skip(1);
  }
  if (sub <= 0x113) return;
  throw new WasmFormatError(`unknown 0xfd opcode ${sub} at offset ${r.pos}`);
}

/** 0xFE: threads. `atomic.fence` has a reserved byte; every other one a memarg. */
function skipAtomic(r: WasmByteReader, sub: number): void {
  if (sub === 0x03) return r.skip(1);
  if (sub <= 0x02 || (sub >= 0x10 && sub <= 0x4e)) return r.memArg();
  throw new WasmFormatError(`unknown 0xfe opcode ${sub} at offset ${r.pos}`);
}

/** 0xFB: GC (struct, array, i31, casts). */
function skipGc(r: WasmByteReader, sub: number): void {
  switch (sub) {
    case 0: // struct.new t
    case 1: // struct.new_default t
    case 6: // array.new t
    case 7: // array.new_default t
    case 11: // array.get t
    case 12: // array.get_s t
    case 13: // array.get_u t
    case 14: // array.set t
    case 16: // array.fill t
    case 20: // ref.test ht
    case 21: // ref.test null ht
    case 22: // ref.cast ht
    case 23: // ref.cast null ht
      r.skipLeb(5);
      return;
    case 2: // struct.get t f
    case 3: // struct.get_s t f
    case 4: // struct.get_u t f
    case 5: // struct.set t f
    case 8: // array.new_fixed t n
    case 9: // array.new_data t d
    case 10: // array.new_elem t e
    case 17: // array.copy t t
    case 18: // array.init_data t d
    case 19: // array.init_elem t e
      r.skipLeb(5);
      r.skipLeb(5);
      return;
    case 15: // array.len
    case 26: // any.convert_extern
    case 27: // extern.convert_any
    case 28: // ref.i31
    case 29: // i31.get_s
    case 30: // i31.get_u
      return;
    case 24: // br_on_cast flags label ht ht
    case 25: // br_on_cast_fail
      r.skip(1);
      r.skipLeb(5);
      r.skipLeb(5);
      r.skipLeb(5);
      return;
    default:
      throw new WasmFormatError(`unknown 0xfb opcode ${sub} at offset ${r.pos}`);
  }
}
