/**
 * Containment of plugins that loop forever. Node cannot interrupt WebAssembly running on the
 * event loop, so the module is instrumented once at load time: a mutable i32 global ("fuel") is
 * appended and exported, and every `loop` starts with a check that traps (`unreachable`) when
 * the fuel is zero and otherwise decrements it. The host refills it before each callback
 * ({@link FUEL_PER_CALLBACK}), so one callback may run that many loop iterations; a callback
 * that spins forever traps instead, which the host handles like any trap (fail strategy for the
 * stream, fresh VM for the next one).
 *
 * The rewrite works on the binary directly, in one pass over the sections: the import section is
 * read to count imported globals (the new global's index is imports + defined globals, so no
 * existing index moves), the global and export sections get one entry more, and each function
 * body is copied with the check spliced in after every loop's block type. Bodies without loops
 * are copied as they are. Time and memory are linear in the module's size (a generated 4 MiB
 * module with 20 000 loops: about 70 ms of CPU), which the text round trip it replaces was not
 * (minutes for a Go-SDK module). It runs in the preparation worker, never on the event loop.
 *
 * Custom sections that address code by byte offset (`metadata.code.*` branch hints) are
 * dropped, since the offsets move; names and everything else are kept.
 */
import { findLoopHeads } from './loop-heads.js';
import { WasmByteReader, WasmFormatError, encodeS32, encodeU32 } from './wasm-byte-reader.js';

/** Loop iterations one callback may run (about 0.1–1 s of tight looping). */
export const FUEL_PER_CALLBACK = 100_000_000;
export const FUEL_EXPORT = '__ambient_loop_fuel';

export type InstrumentResult =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly loops: number }
  | { readonly ok: false; readonly error: string };

const SECTION = { custom: 0, import: 2, global: 6, export: 7, code: 10 } as const;
/** Where each known section id sits in the required order (tag, 13, comes before global). */
const ORDER: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };
const HEADER = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

interface Section {
  readonly id: number;
  /** The payload, as chunks (an unchanged section is one view of the input). */
  payload: Uint8Array[];
}

/** Instruments every loop of a module (see the file comment). Pure and synchronous. */
export function instrumentLoops(bytes: Uint8Array): InstrumentResult {
  try {
    return instrument(bytes);
  } catch (err) {
    if (err instanceof WasmFormatError) return { ok: false, error: `cannot instrument the module: ${err.message}` };
    throw err;
  }
}

function instrument(bytes: Uint8Array): InstrumentResult {
  for (let i = 0; i < HEADER.length; i++) {
    if (bytes[i] !== HEADER[i]) throw new WasmFormatError('not a WebAssembly 1.0 binary (bad magic or version)');
  }
  const sections = readSections(bytes);
  const importedGlobals = countImportedGlobals(bytes, sections);
  const globals = sections.find((s) => s.id === SECTION.global);
  const definedGlobals = globals ? new WasmByteReader(concat(globals.payload), 0, length(globals.payload)).u32() : 0;
  const fuelIndex = encodeU32(importedGlobals + definedGlobals);

  const newGlobal = concat([Uint8Array.of(0x7f, 0x01, 0x41), encodeS32(FUEL_PER_CALLBACK), Uint8Array.of(0x0b)]);
  appendEntry(sections, SECTION.global, newGlobal);
  const name = Buffer.from(FUEL_EXPORT, 'utf8');
  if (exportNames(sections).has(FUEL_EXPORT)) throw new WasmFormatError(`the module already exports ${FUEL_EXPORT}`);
  appendEntry(sections, SECTION.export, concat([encodeU32(name.length), name, Uint8Array.of(0x03), fuelIndex]));

  const check = concat([
    Uint8Array.of(0x23), fuelIndex, // global.get fuel
    Uint8Array.of(0x45, 0x04, 0x40, 0x00, 0x0b), // i32.eqz if unreachable end
    Uint8Array.of(0x23), fuelIndex, // global.get fuel
    Uint8Array.of(0x41, 0x01, 0x6b, 0x24), fuelIndex, // i32.const 1 i32.sub global.set fuel
  ]);
  let loops = 0;
  const code = sections.find((s) => s.id === SECTION.code);
  if (code) {
    const [view] = code.payload;
    if (view === undefined || code.payload.length !== 1) throw new WasmFormatError('code section was already rewritten');
    const out = rewriteCode(view, check);
    code.payload = out.chunks;
    loops = out.loops;
  }

  const parts: Uint8Array[] = [HEADER];
  for (const s of sections) {
    parts.push(Uint8Array.of(s.id), encodeU32(length(s.payload)), ...s.payload);
  }
  return { ok: true, bytes: concat(parts), loops };
}

function readSections(bytes: Uint8Array): Section[] {
  const r = new WasmByteReader(bytes, HEADER.length, bytes.length);
  const out: Section[] = [];
  while (!r.done) {
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const payload = bytes.subarray(start, start + size);
    if (id === SECTION.custom && new WasmByteReader(payload, 0, payload.length).name().startsWith('metadata.code.')) continue;
    out.push({ id, payload: [payload] });
  }
  return out;
}

function countImportedGlobals(bytes: Uint8Array, sections: readonly Section[]): number {
  const s = sections.find((x) => x.id === SECTION.import);
  const payload = s?.payload[0];
  if (payload === undefined) return 0;
  const r = new WasmByteReader(payload, 0, payload.length);
  let globals = 0;
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    r.name();
    r.name();
    const kind = r.u8();
    if (kind === 0x00) r.skipLeb(5); // function: type index
    else if (kind === 0x01) {
      r.valType(); // table: element type, limits
      r.limits();
    } else if (kind === 0x02) r.limits(); // memory
    else if (kind === 0x03) {
      r.valType(); // global: type, mutability
      r.u8();
      globals++;
    } else if (kind === 0x04) {
      r.u8(); // tag: attribute, type index
      r.skipLeb(5);
    } else throw new WasmFormatError(`unknown import kind ${kind} (${bytes.length} byte module)`);
  }
  return globals;
}

function exportNames(sections: readonly Section[]): Set<string> {
  const names = new Set<string>();
  const payload = sections.find((x) => x.id === SECTION.export)?.payload;
  if (payload === undefined) return names;
  const data = concat(payload);
  const r = new WasmByteReader(data, 0, data.length);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    names.add(r.name());
    r.u8();
    r.skipLeb(5);
  }
  return names;
}

/** Adds one entry to a vector section (count + 1), creating the section in its place if absent. */
function appendEntry(sections: Section[], id: number, entry: Uint8Array): void {
  const existing = sections.find((s) => s.id === id);
  if (existing) {
    const data = concat(existing.payload);
    const r = new WasmByteReader(data, 0, data.length);
    const n = r.u32();
    existing.payload = [encodeU32(n + 1), data.subarray(r.pos), entry];
    return;
  }
  const rank = ORDER[id] as number;
  let at = sections.findIndex((s) => s.id !== SECTION.custom && (ORDER[s.id] ?? 0) > rank);
  if (at < 0) at = sections.length;
  sections.splice(at, 0, { id, payload: [encodeU32(1), entry] });
}

function rewriteCode(payload: Uint8Array, check: Uint8Array): { chunks: Uint8Array[]; loops: number } {
  const r = new WasmByteReader(payload, 0, payload.length);
  const count = r.u32();
  const chunks: Uint8Array[] = [payload.subarray(0, r.pos)];
  let loops = 0;
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    r.skip(size);
    const body = new WasmByteReader(payload, start, end);
    const locals = body.u32();
    for (let j = 0; j < locals; j++) {
      body.u32();
      body.valType();
    }
    const heads = findLoopHeads(body);
    if (heads.length === 0) {
      chunks.push(encodeU32(size), payload.subarray(start, end));
      continue;
    }
    loops += heads.length;
    chunks.push(encodeU32(size + heads.length * check.length));
    let from = start;
    for (const h of heads) {
      chunks.push(payload.subarray(from, h), check);
      from = h;
    }
    chunks.push(payload.subarray(from, end));
  }
  if (!r.done) throw new WasmFormatError('code section has bytes after its last body');
  return { chunks, loops };
}

function length(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
}
