/**
 * Binary loop instrumentation (`src/wasm/loop-fuel.ts`) and module preparation off the event
 * loop (`src/wasm/module-preparer.ts`): every module the project builds stays valid and working
 * after instrumentation, loops in any position (nested, in imported-global modules, modules
 * without global or export sections, with SIMD, atomics, bulk memory, reference types, exception
 * handling) get a check that traps at zero fuel, hostile bytes never throw, and a module that
 * cannot be made ready within the time or size bound fails like a bad module.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FUEL_EXPORT, instrumentLoops } from '../../src/wasm/loop-fuel.js';
import { prepareModule } from '../../src/wasm/module-preparer.js';
import { largeModule } from '../helpers/large-wasm-module.js';
import { WASM_DIST, readModule, wat } from '../helpers/wasm-modules.js';

const ALL_FEATURES = { simd: true, threads: true, exceptions: true, bulk_memory: true, reference_types: true, multi_value: true, tail_call: true, sat_float_to_int: true, sign_extension: true };

async function watAll(text: string): Promise<Uint8Array> {
  const mod = (await import('wabt')) as unknown as { default: () => Promise<{ parseWat(n: string, t: string, f: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } }> };
  const w = await mod.default();
  const m = w.parseWat('t.wat', text, ALL_FEATURES);
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

function instrumented(bytes: Uint8Array): { instance: WebAssembly.Instance; fuel: WebAssembly.Global; loops: number } {
  const r = instrumentLoops(bytes);
  assert.ok(r.ok, r.ok ? '' : r.error);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(r.bytes), { env: { g: new WebAssembly.Global({ value: 'i32', mutable: false }, 7), f: () => 0 } });
  const fuel = instance.exports[FUEL_EXPORT];
  assert.ok(fuel instanceof WebAssembly.Global);
  return { instance, fuel, loops: r.loops };
}

const call = (i: WebAssembly.Instance, name: string, ...args: number[]): unknown => (i.exports[name] as (...a: number[]) => unknown)(...args);

describe('binary loop instrumentation', () => {
  it('every module the project builds stays valid after instrumentation (and keeps its exports)', () => {
    const dirs = ['plugins', 'compat'].map((d) => path.join(WASM_DIST, d));
    let checked = 0;
    for (const dir of dirs) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.wasm'))) {
        const bytes = readModule(path.join(dir, f));
        const r = instrumentLoops(bytes);
        assert.ok(r.ok, `${f}: ${r.ok ? '' : r.error}`);
        assert.ok(WebAssembly.validate(r.bytes), `${f} validates`);
        const before = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
        const after = WebAssembly.Module.exports(new WebAssembly.Module(r.bytes)).map((e) => e.name);
        assert.deepEqual(after, [...before, FUEL_EXPORT]);
        checked++;
      }
    }
    assert.ok(checked >= 7, `${checked} modules`);
  });

  it('counts loop iterations against the fuel and traps when it runs out (nested loops too)', async () => {
    const { instance, fuel, loops } = instrumented(
      await watAll(`(module (import "env" "g" (global i32)) (import "env" "f" (func (result i32)))
        (global $own (mut i32) (i32.const 0))
        (func (export "count") (param $n i32) (result i32) (local $i i32)
          (block $out (loop $l
            (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l)))
          (local.get $i))
        (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $t i32)
          (block $o (loop $a
            (br_if $o (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $j (i32.const 0))
            (block $p (loop $b
              (br_if $p (i32.ge_u (local.get $j) (local.get $n)))
              (local.set $t (i32.add (local.get $t) (i32.const 1)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $b)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $a)))
          (local.get $t))
        (func (export "imported") (result i32) (global.get 0)))`),
    );
    assert.equal(loops, 3);
    assert.equal(call(instance, 'imported'), 7, 'imported globals keep their indices');
    fuel.value = 1000;
    assert.equal(call(instance, 'count', 10), 10);
    assert.equal(fuel.value, 1000 - 11, 'one unit per loop entry or back edge');
    fuel.value = 50;
    assert.throws(() => call(instance, 'count', 100), /unreachable/);
    fuel.value = 1000;
    assert.equal(call(instance, 'nested', 5), 25);
    fuel.value = 20;
    assert.throws(() => call(instance, 'nested', 10), /unreachable/);
  });

  it('a module without global or export sections gets both, in section order', async () => {
    const bytes = await watAll('(module (type (func)) (func (loop (br 0))))');
    const { fuel } = instrumented(bytes);
    assert.equal(fuel.value, 100_000_000);
  });

  it('steps over SIMD, atomics, bulk memory, reference types, exceptions, tail calls and multi-value blocks', async () => {
    const { instance, fuel, loops } = instrumented(
      await watAll(`(module (memory 1 1 shared) (table 2 funcref) (tag $e (param i32))
        (data $d "abcd")
        (func $id (param i32) (result i32) (local.get 0))
        (elem declare func $id)
        (func (export "mixed") (param $n i32) (result i32) (local $v v128) (local $acc i32)
          (local.set $v (v128.const i32x4 1 2 3 4))
          (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
          (drop (i32x4.extract_lane 2 (local.get $v)))
          (v128.store offset=16 (i32.const 0) (local.get $v))
          (drop (v128.load32_lane 1 (i32.const 0) (local.get $v)))
          (drop (i32.atomic.rmw.add offset=4 (i32.const 0) (i32.const 1)))
          (atomic.fence)
          (memory.init $d (i32.const 100) (i32.const 0) (i32.const 4))
          (memory.fill (i32.const 200) (i32.const 7) (i32.const 4))
          (drop (ref.is_null (ref.func $id)))
          (drop (ref.null func))
          (drop (select (result i32) (i32.const 1) (i32.const 2) (i32.const 1)))
          (drop (i32.trunc_sat_f32_s (f32.const 1.5)))
          (drop (f64.const 2.5))
          (drop (i64.const -1))
          (try (do (throw $e (i32.const 1))) (catch $e (drop)))
          (i32.const 0)
          (loop $l (param i32) (result i32) (i32.add (i32.const 1)))
          (local.set $acc)
          (block $x (block $y (br_table $y $x (local.get $n))))
          (block $b (loop $m
            (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
            (br_if $m (i32.lt_u (local.get $acc) (local.get $n)))))
          (local.get $acc))
        (func (export "tail") (result i32) (return_call $id (i32.const 9))))`),
    );
    assert.equal(loops, 2);
    fuel.value = 100;
    assert.equal(call(instance, 'mixed', 10), 10);
    assert.equal(call(instance, 'tail'), 9);
    fuel.value = 5;
    assert.throws(() => call(instance, 'mixed', 50), /unreachable/);
  });

  it('hostile bytes: truncations and corruptions answer an error or a module, never throw', () => {
    const bytes = readModule(path.join(WASM_DIST, 'compat', 'go-wasip1.wasm'));
    let errors = 0;
    for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 300))) {
      const r = instrumentLoops(bytes.subarray(0, cut));
      if (!r.ok) errors++;
    }
    assert.ok(errors > 0);
    const corrupt = Buffer.from(bytes);
    for (let i = 0; i < 200; i++) {
      const at = 8 + ((i * 7919) % (corrupt.length - 8));
      corrupt[at] = (corrupt[at] as number) ^ 0xff;
      const r = instrumentLoops(corrupt);
      assert.equal(typeof r.ok, 'boolean');
    }
    assert.equal(instrumentLoops(Buffer.from('not wasm at all')).ok, false);
  });

  it('a module that already exports the fuel name is not instrumented (its own global would be refilled)', async () => {
    const r = instrumentLoops(await wat(`(module (global (export "${FUEL_EXPORT}") (mut i32) (i32.const 0)))`));
    assert.equal(r.ok, false);
  });

  it('a 4 MiB module with 20 000 loops is instrumented, every loop counted', () => {
    const m = largeModule(4 * 1024 * 1024);
    const r = instrumentLoops(m.bytes);
    assert.ok(r.ok);
    assert.equal(r.loops, m.functions);
    assert.ok(WebAssembly.validate(r.bytes));
  });
});

describe('module preparation off the event loop', () => {
  it('prepares in a worker: the compiled module runs and is instrumented', async () => {
    const bytes = readModule(path.join(WASM_DIST, 'plugins', 'header-edit.wasm'));
    const r = await prepareModule(bytes, { maxBytes: bytes.length + 1 });
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.ok(r.plugin.exports.has(FUEL_EXPORT));
    assert.equal(r.plugin.abi, '0.2.1');
    const plain = await prepareModule(bytes, { loopFuel: false });
    assert.ok(plain.ok);
    assert.equal(plain.plugin.exports.has(FUEL_EXPORT), false, 'cached apart from the instrumented one');
  });

  it('a module over the size bound, or not ready in time, fails like a bad module', async () => {
    const m = largeModule(1024 * 1024);
    const big = await prepareModule(m.bytes, { maxBytes: 1000 });
    assert.equal(big.ok, false);
    assert.match(big.ok ? '' : big.error, /more than the 1000 allowed/);
    // A distinct module (one more function) so no cached result answers.
    const slow = await prepareModule(largeModule(1024 * 1024 + 300).bytes, { timeoutMs: 1 });
    assert.equal(slow.ok, false);
    assert.match(slow.ok ? '' : slow.error, /not ready within 1 ms/);
  });

  it('bad bytes are reported as themselves; a module without an ABI marker is rejected', async () => {
    const bad = await prepareModule(Buffer.from('\0asm\x01\0\0\0garbage'));
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.error, /not a valid WebAssembly module/);
    const noAbi = await prepareModule(await wat('(module (func (export "f") (loop (br 0))))'));
    assert.equal(noAbi.ok, false);
    assert.match(noAbi.ok ? '' : noAbi.error, /ABI version/);
  });
});
