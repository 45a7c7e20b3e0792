import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import { SnapshotStore } from '../../src/state/snapshot-store.js';

const pod = (name: string, ip: string, extra = ''): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: apps, labels: {app: ${name}}}
spec: {nodeName: n1, containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]}
status: {podIP: ${ip}}${extra}
---`;

const svc = (name: string, vip: string): string => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: apps}
spec: {clusterIP: ${vip}, selector: {app: ${name}}, ports: [{port: 80, targetPort: 8080}]}
---`;

describe('SnapshotStore (reload without watching)', () => {
  let dir: string;
  let store: SnapshotStore;
  const seen: MeshView[] = [];
  let lastDiagnostics: readonly Diagnostic[] = [];
  const codes = (): string[] => store.diagnostics().map((d) => `${d.severity}:${d.code}`).sort();
  const ipOf = (name: string): string | undefined => store.current().snapshot.workloads.get(`Pod/apps/${name}`)?.ip;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'store-unit-'));
    await writeFile(join(dir, 'a.yaml'), pod('a', '127.1.0.1') + svc('a', '127.100.0.1'));
    await writeFile(join(dir, 'b.yaml'), pod('b', '127.1.0.5'));
    store = await SnapshotStore.open({ dir, watch: false, onDiagnostics: (d) => (lastDiagnostics = d) });
    store.onChange((v) => seen.push(v));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the initial snapshot as generation 1, frozen', () => {
    const v = store.current();
    assert.equal(v.generation, 1);
    assert.equal(ipOf('a'), '127.1.0.1');
    assert.equal(v.serviceByVip('127.100.0.1')?.name, 'a');
    assert.equal(v.endpoints(v.serviceByVip('127.100.0.1')!, 80)[0]?.targetPort, 8080);
    assert.ok(Object.isFrozen(v.snapshot));
    assert.deepEqual(store.diagnostics(), []);
  });

  it('a now-invalid object keeps its previous version, with a diagnostic', async () => {
    await writeFile(join(dir, 'a.yaml'), pod('a', 'nope') + svc('a', '127.100.0.1'));
    await store.reload();
    assert.equal(ipOf('a'), '127.1.0.1');
    assert.deepEqual(codes(), ['error:FIELD_INVALID', 'warning:KEPT_PREVIOUS']);
    assert.equal(lastDiagnostics, store.diagnostics());
    assert.equal(store.current().generation, 1, 'nothing effective changed');
    assert.equal(seen.length, 0);
  });

  it('fixing it serves the new version under a new generation', async () => {
    await writeFile(join(dir, 'a.yaml'), pod('a', '127.1.0.2') + svc('a', '127.100.0.1'));
    await store.reload();
    assert.equal(ipOf('a'), '127.1.0.2');
    assert.equal(store.current().generation, 2);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], store.current());
    assert.deepEqual(store.diagnostics(), []);
  });

  it('a comment-only edit does not bump the generation', async () => {
    await writeFile(join(dir, 'a.yaml'), `# just a comment\n${pod('a', '127.1.0.2')}${svc('a', '127.100.0.1')}`);
    await store.reload();
    assert.equal(store.current().generation, 2);
    assert.equal(seen.length, 1);
  });

  it('malformed YAML keeps every previous object of that file', async () => {
    await writeFile(join(dir, 'a.yaml'), 'kind: Pod\nmetadata: {name: [\n');
    await store.reload();
    assert.equal(ipOf('a'), '127.1.0.2');
    assert.ok(store.current().serviceByVip('127.100.0.1'));
    assert.deepEqual(codes(), ['error:YAML_SYNTAX', 'warning:KEPT_PREVIOUS']);
    assert.equal(store.diagnostics()[0]?.file, join(dir, 'a.yaml'));
  });

  it('an edit that takes an address in use is rejected; the previous version keeps serving', async () => {
    await writeFile(join(dir, 'a.yaml'), pod('a', '127.1.0.5') + svc('a', '127.100.0.1'));
    await store.reload();
    assert.equal(ipOf('a'), '127.1.0.2', 'a keeps its old address');
    assert.equal(ipOf('b'), '127.1.0.5', 'b was there first and keeps its address');
    assert.ok(codes().includes('error:ADDRESS_CONFLICT'));
    assert.ok(codes().includes('warning:KEPT_PREVIOUS'));
  });

  it('a new duplicate of an existing object loses, even from an earlier file', async () => {
    await writeFile(join(dir, 'a.yaml'), pod('a', '127.1.0.2') + svc('a', '127.100.0.1'));
    await writeFile(join(dir, '0-dup.yaml'), pod('b', '127.1.0.9'));
    await store.reload();
    assert.equal(ipOf('b'), '127.1.0.5');
    assert.deepEqual(codes(), ['error:DUPLICATE_OBJECT']);
    assert.equal(store.diagnostics()[0]?.file, join(dir, '0-dup.yaml'));
  });

  it('removing a file removes its objects', async () => {
    const before = store.current().generation;
    await unlink(join(dir, '0-dup.yaml'));
    await unlink(join(dir, 'b.yaml'));
    await store.reload();
    assert.equal(ipOf('b'), undefined);
    assert.equal(store.current().generation, before + 1);
    assert.deepEqual(store.diagnostics(), []);
  });

  it('open() rejects a missing directory', async () => {
    await assert.rejects(SnapshotStore.open({ dir: join(dir, 'missing'), watch: false }));
  });
});
