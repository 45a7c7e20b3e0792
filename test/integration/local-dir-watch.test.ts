import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirSource } from '../../src/sources/local-dir.js';
import type { DirChangeSet } from '../../src/sources/local-dir.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import { SnapshotStore } from '../../src/state/snapshot-store.js';
import { eventually } from '../helpers/eventually.js';

const pod = (name: string, ip: string, image = 'echo'): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: apps}
spec: {nodeName: n1, containers: [{name: c, image: ${image}}]}
status: {podIP: ${ip}}
---`;

describe('SnapshotStore watching a directory', () => {
  let dir: string;
  let store: SnapshotStore;
  const views: MeshView[] = [];
  const ipOf = (name: string): string | undefined => store.current().snapshot.workloads.get(`Pod/apps/${name}`)?.ip;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'store-watch-'));
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'web.yaml'), pod('web', '127.1.0.1'));
    await writeFile(join(dir, 'nested', 'deeper', 'db.yml'), pod('db', '127.1.0.2'));
    // Ignored: not YAML by extension, or hidden (like Kubernetes' ..data mounts).
    await writeFile(join(dir, 'notes.txt'), 'kind: Pod');
    await mkdir(join(dir, '..data'));
    await writeFile(join(dir, '..data', 'web.yaml'), pod('web', '127.1.0.1'));
    store = await SnapshotStore.open({ dir, watch: true, debounceMs: 20, pollIntervalMs: 200 });
    store.onChange((v) => views.push(v));
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every *.yaml / *.yml recursively, skipping hidden entries', () => {
    assert.equal(ipOf('web'), '127.1.0.1');
    assert.equal(ipOf('db'), '127.1.0.2');
    assert.deepEqual(store.diagnostics(), []);
  });

  it('a broken object keeps serving its old version and reports why; the fix applies', async () => {
    await writeFile(join(dir, 'web.yaml'), pod('web', '127.9.0.1'));
    await eventually(() => store.diagnostics().some((d) => d.code === 'ADDRESS_OUT_OF_RANGE' && d.name === 'web'));
    assert.equal(ipOf('web'), '127.1.0.1');
    const generation = store.current().generation;

    await writeFile(join(dir, 'web.yaml'), pod('web', '127.1.0.3'));
    await eventually(() => ipOf('web') === '127.1.0.3');
    assert.equal(store.current().generation, generation + 1);
    assert.deepEqual(store.diagnostics(), []);
    assert.equal(views.at(-1), store.current());
  });

  it('malformed YAML keeps the file’s previous objects', async () => {
    await writeFile(join(dir, 'nested', 'deeper', 'db.yml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: [\n');
    await eventually(() => store.diagnostics().some((d) => d.code === 'YAML_SYNTAX'));
    assert.equal(ipOf('db'), '127.1.0.2');
    const d = store.diagnostics().find((x) => x.code === 'YAML_SYNTAX');
    assert.equal(d?.file, join(dir, 'nested', 'deeper', 'db.yml'));
    assert.equal(typeof d?.line, 'number');

    await writeFile(join(dir, 'nested', 'deeper', 'db.yml'), pod('db', '127.1.0.4'));
    await eventually(() => ipOf('db') === '127.1.0.4');
  });

  it('new, renamed and deleted files are picked up', async () => {
    await writeFile(join(dir, 'nested', 'cache.yaml'), pod('cache', '127.1.0.5'));
    await eventually(() => ipOf('cache') === '127.1.0.5');
    // Editors save by writing a temp file and renaming it over the original.
    await writeFile(join(dir, 'nested', 'cache.yaml.tmp'), pod('cache', '127.1.0.6'));
    await rename(join(dir, 'nested', 'cache.yaml.tmp'), join(dir, 'nested', 'cache.yaml'));
    await eventually(() => ipOf('cache') === '127.1.0.6');
    await unlink(join(dir, 'nested', 'cache.yaml'));
    await eventually(() => ipOf('cache') === undefined);
  });
});

describe('LocalDirSource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-dir-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('emits change sets only for real content changes', async () => {
    await writeFile(join(dir, 'a.yaml'), 'a: 1\n');
    const src = await LocalDirSource.open(dir, { watch: true, debounceMs: 10, pollIntervalMs: 100 });
    const changes: DirChangeSet[] = [];
    src.onChange((c) => changes.push(c));
    try {
      assert.deepEqual([...src.files().keys()], [join(dir, 'a.yaml')]);
      await writeFile(join(dir, 'b.yml'), 'b: 1\n');
      await eventually(() => changes.some((c) => c.changed.has(join(dir, 'b.yml'))));
      const count = changes.length;
      // Same bytes again: the watcher fires, but nothing changed, so nothing is emitted.
      await writeFile(join(dir, 'b.yml'), 'b: 1\n');
      await writeFile(join(dir, 'a.yaml'), 'a: 2\n');
      await eventually(() => changes.some((c) => c.changed.has(join(dir, 'a.yaml'))));
      assert.ok(changes.slice(count).every((c) => !c.changed.has(join(dir, 'b.yml'))));
      await unlink(join(dir, 'a.yaml'));
      await eventually(() => changes.some((c) => c.removed.includes(join(dir, 'a.yaml'))));
    } finally {
      await src.close();
    }
  });
});
