/**
 * Containment of plugins that loop forever. Node cannot interrupt WebAssembly running on the
 * event loop, so the module is instrumented once at load time: a mutable global ("fuel") is added
 * and every `loop` starts by decrementing it and trapping (`unreachable`) when it reaches zero.
 * The host refills it before each callback ({@link FUEL_PER_CALLBACK}), so one callback may run
 * that many loop iterations; a callback that spins forever traps instead, which the host handles
 * like any trap (fail strategy for the stream, fresh VM for the next one).
 *
 * The rewrite goes through wabt's text form (read binary → flat text → insert → assemble). If a
 * module cannot be round-tripped (a feature wabt does not know), it is used uninstrumented and
 * that is logged: containment is best effort, never a reason to reject a working plugin.
 */
import { createHash } from 'node:crypto';

/** Loop iterations one callback may run (about 0.1–1 s of tight looping). */
export const FUEL_PER_CALLBACK = 100_000_000;
export const FUEL_EXPORT = '__ambient_loop_fuel';

interface WabtModule {
  toText(o: { foldExprs: boolean; inlineExport: boolean }): string;
  toBinary(o: { write_debug_names?: boolean }): { buffer: Uint8Array };
  validate(): void;
  destroy(): void;
}
interface Wabt {
  readWasm(bytes: Uint8Array, o: Record<string, boolean>): WabtModule;
  parseWat(name: string, text: string, features: Record<string, boolean>): WabtModule;
}

const FEATURES: Record<string, boolean> = {
  exceptions: true,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: true,
  threads: true,
  multi_value: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  extended_const: true,
};

let wabt: Promise<Wabt> | undefined;
const cache = new Map<string, Uint8Array>();

export type InstrumentResult = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly error: string };

export async function instrumentLoops(bytes: Uint8Array): Promise<InstrumentResult> {
  const key = createHash('sha256').update(bytes).digest('hex');
  const hit = cache.get(key);
  if (hit) return { ok: true, bytes: hit };
  wabt ??= import('wabt').then((m) => (m as unknown as { default: () => Promise<Wabt> }).default());
  const w = await wabt;
  let text: string;
  try {
    // A plain copy: wabt misreads a Node Buffer view of a shared pool.
    const m = w.readWasm(new Uint8Array(bytes), { readDebugNames: false, ...FEATURES });
    try {
      text = m.toText({ foldExprs: false, inlineExport: false });
    } finally {
      m.destroy();
    }
  } catch (err) {
    return { ok: false, error: `cannot read module for loop instrumentation: ${err instanceof Error ? err.message : String(err)}` };
  }
  const rewritten = rewrite(text);
  if (rewritten === undefined) return { ok: false, error: 'module text has an unexpected shape' };
  try {
    const m = w.parseWat('plugin.wat', rewritten, FEATURES);
    try {
      m.validate();
      const out = m.toBinary({ write_debug_names: false }).buffer;
      const copy = new Uint8Array(out);
      cache.set(key, copy);
      return { ok: true, bytes: copy };
    } finally {
      m.destroy();
    }
  } catch (err) {
    return { ok: false, error: `cannot assemble the instrumented module: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Adds the fuel global (and its export) and a check at every loop head. */
function rewrite(text: string): string | undefined {
  const lines = text.split('\n');
  let globals = 0;
  for (const l of lines) if (/\(global \(;\d+;\)/.test(l)) globals++;
  const g = globals;
  const check = `global.get ${g} i32.const 1 i32.sub global.set ${g} global.get ${g} i32.eqz if unreachable end`;
  const out: string[] = [];
  for (const l of lines) {
    out.push(l);
    if (/^\s*loop\b/.test(l)) out.push(`    ${check}`);
  }
  // Module fields may come in any order: the new ones go just before the module's closing parenthesis.
  const body = out.join('\n');
  const close = body.lastIndexOf(')');
  if (close < 0) return undefined;
  return `${body.slice(0, close)}\n  (global (;${g};) (mut i32) (i32.const ${FUEL_PER_CALLBACK}))\n  (export "${FUEL_EXPORT}" (global ${g}))\n${body.slice(close)}`;
}
