/**
 * Every manifest under deploy/ parses and validates against the Kubernetes, Gateway API and Istio
 * schemas (kubernetes-models' generated validators): the kustomize base, overlays and the ztunnel
 * kustomization, the Helm chart rendered with several value sets, the walkthrough examples, and
 * the local mesh's example directories (ordinary Kubernetes objects too).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { validateDir } from '../../src/config/validate-dir.js';
import { findHelm, findKustomize } from './deploy-tools.js';
import {
  byKey,
  DEPLOY_DIR,
  helmTemplate,
  KUBE_DIR,
  kustomizeBuild,
  objectKey,
  parseManifests,
  plainKustomization,
  readManifestDir,
  type K8sObject,
} from './manifests.js';
import { schemaErrors } from './schema-validation.js';

async function assertValid(objects: readonly K8sObject[], what: string): Promise<void> {
  assert.ok(objects.length > 0, `${what}: no objects`);
  byKey(objects); // no duplicates
  const problems: string[] = [];
  for (const o of objects) {
    for (const e of await schemaErrors(o)) problems.push(`${objectKey(o)}: ${e}`);
  }
  assert.deepEqual(problems, [], `${what} has invalid objects`);
}

const LOCAL_DIRS = readdirSync(path.join(DEPLOY_DIR, 'local'))
  .map((d) => path.join(DEPLOY_DIR, 'local', d))
  .filter((d) => statSync(d).isDirectory());

describe('deploy manifests: schema validation', () => {
  it('the validators reject what a cluster would reject', async () => {
    const bad: K8sObject[] = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 'http' }] } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: {} } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008 }] } },
      { apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', metadata: { name: 'w' }, spec: { url: 'oci://x/y:1', phase: 'SOMETIME' } },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } },
      // Unknown (misspelt) fields, which the generated validators alone let through.
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'i', imagePullPolicyy: 'Always' }] } } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPorts: 8080 }] } },
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'g' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', tls: { mode: 'Terminate', bogus: 1 } }] } },
      { apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', metadata: { name: 'w' }, spec: { url: 'oci://x/y:1', phase: 'AUTHN', imagePullPolicyy: 'Always' } },
    ];
    const strict = await schemaErrors(bad[5] as K8sObject);
    assert.deepEqual(strict, ['spec.template.spec.containers[0].imagePullPolicyy: unknown field']);
    // Maps and free-form fields take any key.
    assert.deepEqual(
      await schemaErrors({ apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', metadata: { name: 'w', labels: { anything: 'x' } }, spec: { url: 'oci://x/y:1', pluginConfig: { any: { nested: [1] } } } }),
      [],
    );
    for (const o of bad) assert.notDeepEqual(await schemaErrors(o), [], `${objectKey(o)} should be invalid`);
  });

  it('the kustomize base (plain resources)', async () => {
    await assertValid(plainKustomization(path.join(KUBE_DIR, 'base')), 'base');
  });

  it('the ztunnel kustomization (plain resources)', async () => {
    await assertValid(plainKustomization(path.join(KUBE_DIR, 'ztunnel')), 'ztunnel');
  });

  it('the walkthrough examples (file by file: the canary routes are alternative steps)', async () => {
    for (const d of ['canary', 'wasm-plugin']) {
      const dir = path.join(KUBE_DIR, 'examples', d);
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
        await assertValid(parseManifests(readFileSync(path.join(dir, f), 'utf8'), f), `examples/${d}/${f}`);
      }
    }
  });

  it('the local mesh examples (deploy/local/*)', async () => {
    assert.ok(LOCAL_DIRS.length >= 3, 'default, canary and wasm-plugin at least');
    for (const d of LOCAL_DIRS) await assertValid(readManifestDir(d), d);
  });

  it('the local mesh examples pass `ambient validate` without errors', async () => {
    for (const d of LOCAL_DIRS) {
      const result = await validateDir(d);
      assert.deepEqual(result.diagnostics.filter((x) => x.severity === 'error'), [], d);
      assert.ok((result.snapshot?.waypoints.size ?? 0) >= 1, `${d} has a waypoint`);
    }
  });

  it('kustomize builds of the base, the overlays and the ztunnel kustomization', async (t) => {
    const k = await findKustomize();
    if ('skip' in k) return t.skip(k.skip);
    // The plain reading of the base is exactly what kustomize builds.
    for (const d of ['base', 'ztunnel']) {
      const built = byKey(await kustomizeBuild(k.bin, path.join(KUBE_DIR, d)));
      assert.deepEqual(built, byKey(plainKustomization(path.join(KUBE_DIR, d))), `kubectl kustomize ${d} equals its files`);
    }
    for (const [d, ns] of [['overlays/bookinfo', 'bookinfo'], ['overlays/production', 'bookinfo'], ['overlays/istiod-xds', 'default'], ['overlays/waypoint-canary', 'bookinfo']] as const) {
      const objects = await kustomizeBuild(k.bin, path.join(KUBE_DIR, d));
      await assertValid(objects, d);
      for (const o of objects) {
        if (o.metadata.namespace !== undefined) assert.equal(o.metadata.namespace, ns, `${d}: ${objectKey(o)}`);
      }
    }
  });

  it('the Helm chart rendered with default and non-default values', async (t) => {
    const h = await findHelm();
    if ('skip' in h) return t.skip(h.skip);
    const valueSets: readonly (readonly string[])[] = [
      [],
      ['ztunnel.enabled=true'],
      ['autoscaling.enabled=false', 'podDisruptionBudget.enabled=false', 'enrollNamespace=false'],
      ['name=edge', 'replicas=3', 'image.tag=dev', 'accessLog=json', 'drainMs=20000', 'terminationGracePeriodSeconds=30'],
    ];
    for (const set of valueSets) await assertValid(await helmTemplate(h.bin, 'team-a', set), `helm template ${set.join(',') || '(defaults)'}`);
  });
});
