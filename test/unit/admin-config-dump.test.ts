/**
 * `/config_dump` rendering of IR values: maps, sets, byte arrays, compiled helpers and cycles
 * all become plain JSON; the dump carries the snapshot, its generation and the diagnostics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configDump, jsonValue } from '../../src/admin/config-dump.js';
import { staticViewSource } from '../../src/state/view-source.js';
import { meshView, service, workload } from '../helpers/mesh-builders.js';

class Compiled {
  readonly program = [1, 2, 3];
}

describe('config dump', () => {
  it('renders IR values as plain JSON', () => {
    const shared = { a: 1 };
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const v = jsonValue({
      byName: new Map([['x', 1]]),
      byNumber: new Map([[7, 'seven']]),
      set: new Set(['a']),
      network: new Uint8Array([127, 0, 0, 1]),
      regex: /^\/api/,
      compiled: new Compiled(),
      pattern: { source: '^/v[0-9]+$', constructor: Compiled } as unknown,
      twice: [shared, shared],
      cyclic,
      fn: () => 1,
    });
    assert.deepEqual(v, {
      byName: { x: 1 },
      byNumber: [{ key: 7, value: 'seven' }],
      set: ['a'],
      regex: '^\\/api',
      compiled: '[Compiled]',
      pattern: { source: '^/v[0-9]+$' },
      twice: [{ a: 1 }, { a: 1 }],
      cyclic: { name: 'loop', self: '[cycle]' },
    });
  });

  it('dumps the snapshot with its generation, and the diagnostics; ?resource narrows it', () => {
    const view = meshView({ workloads: [workload({ name: 'sleep', ip: '127.1.8.2' })], services: [service({ name: 'reviews', ports: [9080] })], generation: 4 });
    const source = { ...staticViewSource(view), diagnostics: () => [{ severity: 'error' as const, code: 'FIELD_INVALID' as const, file: 'x.yaml', message: 'bad' }] };
    const dump = configDump(source) as { configs: Record<string, unknown>[] };
    assert.equal(dump.configs[0]?.['generation'], 4);
    assert.deepEqual(Object.keys(dump.configs[0]?.['workloads'] as object), ['Pod/default/sleep']);
    assert.equal(dump.configs[1]?.['errors'], 1);
    const narrowed = configDump(source, 'services') as { configs: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(narrowed.configs[0] ?? {}), ['@type', 'generation', 'services']);
    assert.deepEqual((configDump(source, 'nothing') as { configs: unknown[] }).configs, []);
  });
});
