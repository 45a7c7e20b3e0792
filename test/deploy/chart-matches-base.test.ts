/**
 * The Helm chart and the kustomize manifests are one deployment written twice: for default values
 * the chart renders exactly the base's objects (field for field, formatting aside); installed into
 * another namespace it renders exactly what the bookinfo overlay builds; with the ztunnel on it adds
 * exactly the ztunnel kustomization. Rendered with the real helm and kubectl binaries.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findHelm, findKustomize, runTool } from './deploy-tools.js';
import { byKey, CHART_DIR, helmTemplate, KUBE_DIR, kustomizeBuild, plainKustomization } from './manifests.js';

describe('the Helm chart renders the kustomize manifests', () => {
  it('default values: the base', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    assert.deepEqual(byKey(await helmTemplate(h.bin, 'default')), byKey(plainKustomization(path.join(KUBE_DIR, 'base'))));
  });

  it('ztunnel.enabled: the base plus the ztunnel kustomization', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    const expected = [...plainKustomization(path.join(KUBE_DIR, 'base')), ...plainKustomization(path.join(KUBE_DIR, 'ztunnel'))];
    assert.deepEqual(byKey(await helmTemplate(h.bin, 'default', ['ztunnel.enabled=true'])), byKey(expected));
  });

  it('release namespace bookinfo: the bookinfo overlay', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    const k = await findKustomize();
    if ('skip' in k) return t.skip(k.skip);
    assert.deepEqual(byKey(await helmTemplate(h.bin, 'bookinfo')), byKey(await kustomizeBuild(k.bin, path.join(KUBE_DIR, 'overlays', 'bookinfo'))));
  });

  it('values.schema.json refuses values the waypoint would refuse, at template time', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    for (const bad of ['drainMs=soon', 'accessLog=xml', 'logLevel=loud', 'replicas=0', 'name=Not_A_Name', 'drainms=5000']) {
      await assert.rejects(helmTemplate(h.bin, 'default', [bad]), /values don't meet the specifications|schema|additional properties|want|must/, bad);
    }
  });

  it('helm lint passes', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    const out = await runTool(h.bin, ['lint', CHART_DIR]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});
