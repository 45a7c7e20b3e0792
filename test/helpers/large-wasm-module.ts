/**
 * A large, valid proxy-wasm module built byte by byte (no assembler): the size of a Go-SDK
 * (wasip1) build or more, made of thousands of filler functions that each hold a counting loop
 * and padding, so loop instrumentation and compilation have real work proportional to the size.
 *
 * What it does when run: `proxy_on_request_headers` calls one filler (its loop runs a few times)
 * and adds the request header `x-large-module: <functions>`; it continues the stream.
 */
import { encodeS32, encodeU32 } from '../../src/wasm/wasm-byte-reader.js';

export interface LargeModule {
  readonly bytes: Buffer;
  /** Filler functions in it (each with one loop). */
  readonly functions: number;
}

const u32 = (n: number): Buffer => Buffer.from(encodeU32(n));
const vec = (items: readonly Buffer[]): Buffer => Buffer.concat([u32(items.length), ...items]);
const name = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const section = (id: number, payload: Buffer): Buffer => Buffer.concat([Buffer.of(id), u32(payload.length), payload]);
const I32 = 0x7f;
const functype = (params: number[], results: number[]): Buffer => Buffer.concat([Buffer.of(0x60), vec(params.map((p) => Buffer.of(p))), vec(results.map((r) => Buffer.of(r)))]);
const body = (code: number[] | Buffer, locals: Buffer = vec([])): Buffer => {
  const b = Buffer.concat([locals, Buffer.from(code)]);
  return Buffer.concat([u32(b.length), b]);
};

/** Builds a module of at least `minBytes` bytes. */
export function largeModule(minBytes: number): LargeModule {
  // i32.const 1000; drop — repeated to pad each filler to about 200 bytes.
  const padding = Buffer.alloc(4 * 45);
  for (let i = 0; i < 45; i++) padding.set([0x41, 0xe8, 0x07, 0x1a], i * 4);
  const filler = body(
    Buffer.concat([
      Buffer.of(0x02, 0x40, 0x03, 0x40), // block, loop
      Buffer.of(0x20, 0x00, 0x45, 0x0d, 0x01), // local.get 0, i32.eqz, br_if 1
      Buffer.of(0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00), // local.set 0 (local.get 0 - 1)
      Buffer.of(0x0c, 0x00, 0x0b, 0x0b), // br 0, end loop, end block
      padding,
      Buffer.of(0x20, 0x00, 0x0b), // local.get 0, end
    ]),
  );
  const functions = Math.max(1, Math.ceil(minBytes / filler.length));
  const headerName = 'x-large-module';
  const headerValue = String(functions);
  const FIRST_FILLER = 4; // import 0, marker 1, malloc 2, on_request_headers 3

  const types = section(1, vec([functype([], []), functype([I32], [I32]), functype([I32, I32, I32], [I32]), functype([I32, I32, I32, I32, I32], [I32])]));
  const imports = section(2, vec([Buffer.concat([name('env'), name('proxy_add_header_map_value'), Buffer.of(0x00), u32(3)])]));
  const funcs = section(3, Buffer.concat([u32(3 + functions), Buffer.of(0, 1, 2), Buffer.alloc(functions, 1)]));
  const memory = section(5, vec([Buffer.of(0x00, 0x01)]));
  const exp = (n: string, kind: number, idx: number): Buffer => Buffer.concat([name(n), Buffer.of(kind), u32(idx)]);
  const exports = section(7, vec([exp('memory', 2, 0), exp('proxy_abi_version_0_2_1', 0, 1), exp('malloc', 0, 2), exp('proxy_on_request_headers', 0, 3)]));
  const onHeaders = body(
    Buffer.concat([
      Buffer.of(0x41, 0x03, 0x10), u32(FIRST_FILLER), Buffer.of(0x1a), // call filler(3), drop
      Buffer.of(0x41, 0x00), // map 0: request headers
      Buffer.of(0x41, 0xc0, 0x00, 0x41), u32(headerName.length), // name at 64
      Buffer.of(0x41, 0x80, 0x01, 0x41), u32(headerValue.length), // value at 128
      Buffer.of(0x10, 0x00, 0x1a), // call proxy_add_header_map_value, drop
      Buffer.of(0x41, 0x00, 0x0b), // CONTINUE
    ]),
  );
  const bodies = [body([0x0b]), body([0x41, 0x80, 0x08, 0x0b]), onHeaders];
  const fillers = Buffer.alloc(filler.length * functions);
  for (let i = 0; i < functions; i++) filler.copy(fillers, i * filler.length);
  const code = section(10, Buffer.concat([u32(bodies.length + functions), ...bodies, fillers]));
  const seg = (offset: number, text: string): Buffer => Buffer.concat([Buffer.of(0x00, 0x41), Buffer.from(encodeS32(offset)), Buffer.of(0x0b), name(text)]);
  const data = section(11, vec([seg(64, headerName), seg(128, headerValue)]));
  const header = Buffer.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  return { bytes: Buffer.concat([header, types, imports, funcs, memory, exports, code, data]), functions };
}
