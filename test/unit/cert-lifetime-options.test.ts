/** `--cert-lifetime` / `--cert-refresh-fraction`: parsing, refusal of bad values, and what `ambient up` passes on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certLifetimeArgs, parseCertLifetime } from '../../src/commands/cert-lifetime-options.js';

describe('certificate lifetime options', () => {
  it('parses durations and fractions; absent means the defaults', () => {
    assert.deepEqual(parseCertLifetime({}), {});
    assert.deepEqual(parseCertLifetime({ 'cert-lifetime': '10m', 'cert-refresh-fraction': '0.5' }), { validityMs: 600_000, refreshFraction: 0.5 });
    assert.deepEqual(parseCertLifetime({ 'cert-lifetime': '1h30m' }), { validityMs: 5_400_000 });
  });

  it('refuses what it cannot use', () => {
    for (const v of ['0s', '999ms', 'soon', '-1s', '']) assert.throws(() => parseCertLifetime({ 'cert-lifetime': v }), /--cert-lifetime/, v);
    for (const v of ['0', '1', '1.5', 'x', '', '-0.2']) assert.throws(() => parseCertLifetime({ 'cert-refresh-fraction': v }), /--cert-refresh-fraction/, v);
  });

  it('round-trips through the arguments `ambient up` gives each role', () => {
    const c = parseCertLifetime({ 'cert-lifetime': '45s', 'cert-refresh-fraction': '0.25' });
    const args = certLifetimeArgs(c);
    assert.deepEqual(args, ['--cert-lifetime', '45000ms', '--cert-refresh-fraction', '0.25']);
    assert.deepEqual(parseCertLifetime({ 'cert-lifetime': args[1], 'cert-refresh-fraction': args[3] }), c);
  });
});
