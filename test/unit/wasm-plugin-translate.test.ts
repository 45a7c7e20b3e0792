/** WasmPlugin YAML → IR: targets, url schemes, phase/priority, config, env, match, failStrategy, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { WasmPluginIR } from '../../src/config/ir-wasm.js';

function translate(spec: string): { value?: WasmPluginIR; errors: string[]; warnings: string[] } {
  const yaml = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: p, namespace: apps}
spec:
${spec}`;
  const t = translateFile('/cfg/plugins.yaml', yaml, { localRanges: true });
  const o = t.outcomes[0];
  const value = o?.status === 'ok' && o.object.type === 'WasmPlugin' ? o.object.value : undefined;
  return {
    ...(value ? { value } : {}),
    errors: t.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.field}: ${d.message}`),
    warnings: t.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.field}: ${d.message}`),
  };
}

describe('WasmPlugin translator', () => {
  it('reads every field', () => {
    const { value, errors } = translate(`  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}, {kind: Service, group: "", name: reviews}]
  url: file://plugins/auth.wasm
  sha256: ${'A'.repeat(64)}
  phase: AUTHZ
  priority: 7
  pluginName: my-root
  pluginConfig: {header: x-a, limits: [1, 2]}
  failStrategy: FAIL_OPEN
  imagePullPolicy: Always
  vmConfig:
    env:
      - {name: MODE, value: strict}
      - {name: HOME_DIR, valueFrom: HOST}
      - {name: ISTIO_META_WASM_PULL_SECRET, value: dropped}
  match:
    - mode: SERVER
      ports: [{number: 9080}]
`);
    assert.deepEqual(errors, []);
    assert.ok(value);
    assert.deepEqual(value.targets, [
      { kind: 'Gateway', namespace: 'apps', name: 'waypoint' },
      { kind: 'Service', namespace: 'apps', name: 'reviews' },
    ]);
    assert.equal(value.url, 'file:///cfg/plugins/auth.wasm', 'relative file paths are resolved against the YAML file');
    assert.equal(value.sha256, 'a'.repeat(64));
    assert.equal(value.phase, 'AUTHZ');
    assert.equal(value.priority, 7);
    assert.equal(value.pluginName, 'my-root');
    assert.equal(value.pluginConfig, '{"header":"x-a","limits":[1,2]}');
    assert.equal(value.failStrategy, 'FAIL_OPEN');
    assert.equal(value.imagePullPolicy, 'Always');
    assert.deepEqual(value.env, { MODE: 'strict' });
    assert.deepEqual(value.hostEnvKeys, ['HOME_DIR']);
    assert.deepEqual(value.match, [{ mode: 'SERVER', ports: [9080] }]);
  });

  it('defaults: oci:// scheme, UNSPECIFIED phase, priority 0, FAIL_CLOSE, empty config', () => {
    const { value, errors } = translate(`  targetRefs: [{kind: Service, group: "", name: reviews}]
  url: ghcr.io/acme/plugin:1.0
`);
    assert.deepEqual(errors, []);
    assert.equal(value?.url, 'oci://ghcr.io/acme/plugin:1.0');
    assert.equal(value?.phase, 'UNSPECIFIED');
    assert.equal(value?.priority, 0);
    assert.equal(value?.failStrategy, 'FAIL_CLOSE');
    assert.equal(value?.pluginConfig, '');
    assert.deepEqual(value?.match, []);
  });

  it('skips selector-only plugins (sidecars) with a warning', () => {
    const { value, warnings } = translate(`  selector: {matchLabels: {app: reviews}}
  url: oci://ghcr.io/acme/plugin
`);
    assert.equal(value, undefined);
    assert.match(warnings.join(), /targetRefs/);
  });

  it('rejects bad fields with their paths', () => {
    const { value, errors } = translate(`  targetRefs: [{kind: Service, group: "", name: reviews, namespace: other}]
  url: ftp://example.com/x.wasm
  sha256: nothex
  phase: EARLY
  failStrategy: MAYBE
  type: NETWORK
  vmConfig: {env: [{name: "1BAD", value: x}]}
`);
    assert.equal(value, undefined);
    const text = errors.join('\n');
    assert.match(text, /spec\.targetRefs\[0\]\.namespace/);
    assert.match(text, /spec\.url: unsupported scheme ftp/);
    assert.match(text, /spec\.sha256/);
    assert.match(text, /spec\.phase/);
    assert.match(text, /spec\.failStrategy/);
    assert.match(text, /spec\.type/);
    assert.match(text, /spec\.vmConfig\.env\[0\]\.name/);
  });
});
