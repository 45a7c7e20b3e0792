import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { formatValidation, validateDir } from '../../src/config/validate-dir.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));
const INVALID = join(FIXTURES, 'invalid');

/** 1-based line of the line carrying `# MARK <mark>` in a fixture file. */
function markLine(file: string, mark: string): number {
  const lines = readFileSync(join(INVALID, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`# MARK ${mark}`));
  assert.ok(i >= 0, `mark ${mark} not found in ${file}`);
  return i + 1;
}

interface Expected {
  readonly file: string;
  readonly mark: string;
  readonly code: Diagnostic['code'];
  readonly kind?: string;
  readonly name?: string;
  readonly field?: string;
  /** The expected line is the mark's line plus this (when the field sits on the next line). */
  readonly offset?: number;
}

const EXPECTED: readonly Expected[] = [
  { file: 'pods.yaml', mark: 'no-ip', code: 'FIELD_REQUIRED', kind: 'Pod', name: 'no-ip', field: 'status.podIP', offset: -1 },
  { file: 'pods.yaml', mark: 'bad-ip', code: 'FIELD_INVALID', kind: 'Pod', name: 'bad-ip', field: 'status.podIP' },
  { file: 'pods.yaml', mark: 'out-of-range', code: 'ADDRESS_OUT_OF_RANGE', kind: 'Pod', name: 'out-of-range', field: 'status.podIP' },
  { file: 'pods.yaml', mark: 'same-ip', code: 'ADDRESS_CONFLICT', kind: 'Pod', name: 'same-ip', field: 'status.podIP' },
  { file: 'pods.yaml', mark: 'bad-port', code: 'FIELD_INVALID', kind: 'Pod', name: 'bad-port', field: 'spec.containers[0].ports[0].containerPort' },
  { file: 'pods.yaml', mark: 'string-port', code: 'FIELD_INVALID', kind: 'Pod', name: 'string-port', field: 'spec.containers[0].ports[0].containerPort' },
  { file: 'services.yaml', mark: 'port-zero', code: 'FIELD_INVALID', kind: 'Service', name: 'port-zero', field: 'spec.ports[0].port' },
  { file: 'services.yaml', mark: 'port-text', code: 'FIELD_INVALID', kind: 'Service', name: 'port-text', field: 'spec.ports[0].port' },
  { file: 'services.yaml', mark: 'same-vip', code: 'ADDRESS_CONFLICT', kind: 'Service', name: 'same-vip', field: 'spec.clusterIP' },
  { file: 'services.yaml', mark: 'duplicate', code: 'DUPLICATE_OBJECT', kind: 'Service', name: 'good' },
  { file: 'gateways.yaml', mark: 'no-address', code: 'FIELD_REQUIRED', kind: 'Gateway', name: 'no-address', field: 'spec.addresses' },
  { file: 'gateways.yaml', mark: 'no-hbone', code: 'FIELD_INVALID', kind: 'Gateway', name: 'no-hbone', field: 'spec.listeners' },
  { file: 'broken.yaml', mark: 'broken', code: 'YAML_SYNTAX' },
  { file: 'docs.yaml', mark: 'scalar', code: 'NOT_AN_OBJECT' },
  { file: 'docs.yaml', mark: 'kindless', code: 'NOT_AN_OBJECT', field: 'kind', offset: -1 },
  { file: 'docs.yaml', mark: 'nameless', code: 'NOT_AN_OBJECT', field: 'metadata.name' },
  { file: 'policies.yaml', mark: 'bad-action', code: 'FIELD_INVALID', kind: 'AuthorizationPolicy', name: 'bad-action', field: 'spec.action' },
  { file: 'policies.yaml', mark: 'bad-cidr', code: 'FIELD_INVALID', kind: 'AuthorizationPolicy', name: 'bad-cidr', field: 'spec.rules[0].from[0].source.ipBlocks[0]' },
  { file: 'policies.yaml', mark: 'ap-bad-port', code: 'FIELD_INVALID', kind: 'AuthorizationPolicy', name: 'bad-port', field: 'spec.rules[0].to[0].operation.ports[0]' },
];

describe('diagnostics for bad inputs (validate-dir over test/fixtures/config/invalid)', async () => {
  const result = await validateDir(INVALID);

  for (const e of EXPECTED) {
    it(`${e.file} ${e.mark}: ${e.code}`, () => {
      const file = join(INVALID, e.file);
      const line = markLine(e.file, e.mark) + (e.offset ?? 0);
      const found = result.diagnostics.find(
        (d) => d.file === file && d.code === e.code && d.name === e.name && d.field === e.field,
      );
      assert.ok(found, `no ${e.code} for ${e.name ?? '-'} ${e.field ?? ''} in:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`);
      assert.equal(found.severity, 'error');
      assert.equal(found.line, line, formatDiagnostic(found));
      assert.equal(found.kind, e.kind);
      if (e.kind !== undefined) assert.equal(found.namespace, 'apps');
      assert.ok(found.message.length > 0);
    });
  }

  it('rejects bad objects alone: the good ones still apply', () => {
    const s = result.snapshot;
    assert.ok(s);
    assert.deepEqual([...s.workloads.keys()], ['Pod/apps/good']);
    assert.deepEqual([...s.services.keys()], ['apps/good']);
    assert.equal(s.services.get('apps/good')?.vips[0], '127.100.0.50', 'the first of two duplicates wins');
    assert.equal(s.waypoints.size, 0);
    assert.equal(s.l4Policies.length, 0);
  });

  it('exit code 1 with errors; the formatter prints file:line: severity CODE Kind ns/name field: message', () => {
    assert.equal(result.exitCode, 1);
    const out = formatValidation(result);
    const line = markLine('pods.yaml', 'bad-ip');
    assert.match(out, new RegExp(`^${escape(join(INVALID, 'pods.yaml'))}:${line}: error FIELD_INVALID Pod apps/bad-ip status\\.podIP: .+not an IP`, 'm'));
    assert.match(out, /^\d+ error\(s\), \d+ warning\(s\); 1 workload\(s\)/m);
  });
});

describe('validate-dir exit codes', () => {
  it('zero with warnings only', async () => {
    const r = await validateDir(join(FIXTURES, 'warnings-only'));
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.diagnostics.map((d) => [d.severity, d.code]).sort(), [
      ['warning', 'REF_NOT_FOUND'],
      ['warning', 'UNKNOWN_KIND'],
    ]);
  });

  it('zero and silent for a clean directory', async () => {
    const r = await validateDir(join(FIXTURES, 'basic'));
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.exitCode, 0);
    assert.equal(r.snapshot?.mesh.trustDomain, 'example.local');
  });

  it('non-zero for a missing directory', async () => {
    const r = await validateDir(join(FIXTURES, 'does-not-exist'));
    assert.equal(r.exitCode, 1);
    assert.equal(r.diagnostics[0]?.code, 'FILE_UNREADABLE');
  });
});

describe('formatDiagnostic', () => {
  it('formats object and file-level diagnostics', () => {
    assert.equal(
      formatDiagnostic({ severity: 'warning', code: 'UNKNOWN_KIND', file: 'a.yaml', line: 3, kind: 'Deployment', namespace: 'ns', name: 'web', message: 'skipped' }),
      'a.yaml:3: warning UNKNOWN_KIND Deployment ns/web: skipped',
    );
    assert.equal(formatDiagnostic({ severity: 'error', code: 'YAML_SYNTAX', file: 'b.yaml', line: 7, message: 'bad' }), 'b.yaml:7: error YAML_SYNTAX: bad');
    assert.equal(
      formatDiagnostic({ severity: 'error', code: 'FIELD_INVALID', file: 'c.yaml', kind: 'Namespace', name: 'x', field: 'metadata.labels.a', message: 'm' }),
      'c.yaml: error FIELD_INVALID Namespace x metadata.labels.a: m',
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
