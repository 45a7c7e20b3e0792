/**
 * TrafficExtension YAML (extensions.istio.io/v1alpha1, istio/api traffic_extension.proto) → the
 * same WasmPluginIR a WasmPlugin gives: the `wasm` block's module fields, `phase`, `priority`,
 * `match`, `targetRefs`; diagnostics name the file, the object and the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import type { WasmPluginIR } from '../../src/config/ir-wasm.js';

function translate(spec: string, kind = 'TrafficExtension'): { value?: WasmPluginIR; diagnostics: readonly Diagnostic[]; errors: string[]; warnings: string[] } {
  const yaml = `apiVersion: extensions.istio.io/v1alpha1
kind: ${kind}
metadata: {name: ext, namespace: apps}
spec:
${spec}`;
  const t = translateFile('/cfg/extensions.yaml', yaml, { localRanges: true });
  const o = t.outcomes[0];
  const value = o?.status === 'ok' && o.object.type === 'WasmPlugin' ? o.object.value : undefined;
  return {
    ...(value ? { value } : {}),
    diagnostics: t.diagnostics,
    errors: t.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.field}: ${d.message}`),
    warnings: t.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.field}: ${d.message}`),
  };
}

const FULL = `  targetRefs: [{kind: Service, group: "", name: reviews}]
  phase: AUTHZ
  priority: 7
  match:
    - mode: SERVER
      ports: [{number: 9080}]
WASM`;
const WASM = `  wasm:
    url: file://plugins/auth.wasm
    sha256: ${'b'.repeat(64)}
    pluginName: my-root
    pluginConfig: {header: x-a}
    failStrategy: FAIL_OPEN
    imagePullPolicy: Always
    vmConfig:
      env: [{name: MODE, value: strict}, {name: HOME_DIR, valueFrom: HOST}]
    type: HTTP
`;

describe('TrafficExtension translator', () => {
  it('translates the wasm form into the same IR as the equivalent WasmPlugin', () => {
    const ext = translate(FULL.replace('WASM', WASM));
    assert.deepEqual(ext.errors, []);
    assert.ok(ext.value);
    // The WasmPlugin spelling of the same extension: the module fields one level up.
    const flat = WASM.replace('  wasm:\n', '').replace(/^ {2}/gm, '');
    const plugin = translate(FULL.replace('WASM', flat), 'WasmPlugin');
    assert.deepEqual(plugin.errors, []);
    assert.ok(plugin.value);
    const { kind, origin: _o1, ...fromExt } = ext.value;
    const { origin: _o2, ...fromPlugin } = plugin.value;
    assert.equal(kind, 'TrafficExtension');
    assert.deepEqual(fromExt, fromPlugin);
    assert.equal(ext.value.url, 'file:///cfg/plugins/auth.wasm');
    assert.equal(ext.value.phase, 'AUTHZ');
    assert.equal(ext.value.priority, 7);
    assert.equal(ext.value.pluginConfig, '{"header":"x-a"}');
    assert.equal(ext.value.failStrategy, 'FAIL_OPEN');
    assert.deepEqual(ext.value.env, { MODE: 'strict' });
    assert.deepEqual(ext.value.hostEnvKeys, ['HOME_DIR']);
    assert.deepEqual(ext.value.match, [{ mode: 'SERVER', ports: [9080] }]);
  });

  it('diagnostics name the file, the object and the field under spec.wasm', () => {
    const r = translate(`  targetRefs: [{kind: Service, group: "", name: reviews}]
  wasm:
    url: ftp://example/x.wasm
    sha256: nothex
    failStrategy: FAIL_SOMETIMES
    type: NETWORK
    vmConfig:
      env: [{name: "1BAD", value: x}]
`);
    assert.equal(r.value, undefined);
    const fields = r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.field);
    assert.deepEqual(fields.sort(), ['spec.wasm.failStrategy', 'spec.wasm.sha256', 'spec.wasm.type', 'spec.wasm.url', 'spec.wasm.vmConfig.env[0].name'].sort());
    for (const d of r.diagnostics) {
      assert.equal(d.file, '/cfg/extensions.yaml');
      assert.equal(d.kind, 'TrafficExtension');
      assert.equal(d.namespace, 'apps');
      assert.equal(d.name, 'ext');
    }
  });

  it('exactly one of wasm or lua; lua is refused; selector-only is skipped; selector with targetRefs is an error', () => {
    assert.match(translate('  targetRefs: [{kind: Service, name: reviews}]\n').errors.join(), /spec: exactly one of wasm or lua/);
    const both = translate(`  targetRefs: [{kind: Service, name: reviews}]\n  wasm: {url: file:///x.wasm}\n  lua: {inlineCode: "x"}\n`);
    assert.match(both.errors.join(), /exactly one of wasm or lua/);
    const lua = translate(`  targetRefs: [{kind: Service, name: reviews}]\n  lua:\n    inlineCode: |\n      function envoy_on_request(h) end\n`);
    assert.equal(lua.value, undefined);
    assert.match(lua.errors.join(), /^spec\.lua: Lua extensions are not supported/);
    const selector = translate(`  selector: {matchLabels: {app: x}}\n  wasm: {url: file:///x.wasm}\n`);
    assert.equal(selector.value, undefined);
    assert.deepEqual(selector.errors, []);
    assert.match(selector.warnings.join(), /targetRefs/);
    const mixed = translate(`  selector: {matchLabels: {app: x}}\n  targetRefs: [{kind: Service, name: reviews}]\n  wasm: {url: file:///x.wasm}\n`);
    assert.match(mixed.errors.join(), /^spec\.selector: only one of targetRefs or selector/);
  });

  it('the url defaults to oci:// and an empty pluginName is refused', () => {
    const r = translate(`  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]\n  wasm: {url: "registry.example/p:1"}\n`);
    assert.equal(r.value?.url, 'oci://registry.example/p:1');
    const empty = translate(`  targetRefs: [{kind: Service, name: reviews}]\n  wasm: {url: file:///x.wasm, pluginName: ""}\n`);
    assert.match(empty.errors.join(), /^spec\.wasm\.pluginName: must not be empty/);
  });
});
