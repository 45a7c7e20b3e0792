/**
 * Short fuzz runs in `npm test` (bounded by iteration count, never time): every target, a fixed
 * seed, and zero findings expected. Long runs with fresh seeds: `node scripts/fuzz.mjs`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FUZZ_TARGETS, runTarget } from './fuzz-targets.js';
import { resetWasmHostTarget } from './wasm-host-fuzz.js';

const ITERATIONS: Readonly<Record<string, number>> = { 'yaml-translators': 300 };
const DEFAULT_ITERATIONS = 3000;
const SEED = 20261122;

describe('fuzz (short)', () => {
  for (const t of FUZZ_TARGETS) {
    it(`${t.name}: no findings`, async () => {
      await t.prepare?.();
      const r = runTarget(t, SEED, ITERATIONS[t.name] ?? DEFAULT_ITERATIONS);
      assert.deepEqual(r.findings.slice(0, 3), []);
    });
  }
  after(resetWasmHostTarget);
});
