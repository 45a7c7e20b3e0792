/**
 * `extensions.istio.io/v1alpha1 WasmPlugin` → {@link WasmPluginIR} (istio/api extensions/v1alpha1
 * wasm.proto; how istiod turns it into Envoy config: pilot/pkg/model/extensions.go). Its
 * successor, `TrafficExtension`, translates into the same IR (`traffic-extension.ts`); the
 * module fields both carry are read by `wasm-module-fields.ts`.
 *
 * - Attachment: waypoints read `targetRefs` only (a Gateway, a Service, or the GatewayClass from
 *   the root namespace, via {@link forEachTargetRef}); a selector-only plugin is for sidecars and
 *   is skipped with a warning. At most 16 refs.
 */
import type { WasmPluginIR } from '../ir-wasm.js';
import type { PolicyTargetIR } from '../ir-security.js';
import { hasPolicyTargets, readPolicyTargets } from './policy-targets.js';
import type { Translator } from './translator.js';
import { readMatch, readPhase, readWasmModuleFields } from './wasm-module-fields.js';

const MAX_TARGETS = 16;

export const wasmPluginTranslator: Translator = {
  kind: 'WasmPlugin',
  apiVersions: ['extensions.istio.io/v1alpha1'],
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    if (!hasPolicyTargets(r)) {
      r.warn(['spec'], 'UNSUPPORTED', 'waypoints apply only WasmPlugins attached by targetRefs; this one (selector or no target) is skipped');
      return undefined;
    }
    if (r.record(['spec', 'selector'])) r.error(['spec', 'selector'], 'FIELD_INVALID', 'cannot be set together with targetRefs');
    const targets: PolicyTargetIR[] = readPolicyTargets(r, namespace);
    if (targets.length > MAX_TARGETS) r.error(['spec', 'targetRefs'], 'FIELD_INVALID', `at most ${MAX_TARGETS} targetRefs`);
    const module = readWasmModuleFields(r, ['spec']);
    const phase = readPhase(r);
    const priority = r.integer(['spec', 'priority'], { min: -2147483648, max: 2147483647 }) ?? 0;
    const match = readMatch(r);
    if (r.failed || module === undefined) return undefined;
    const value: WasmPluginIR = { name: r.id.name, namespace, targets, ...module, phase, priority, match, origin: r.origin };
    return { type: 'WasmPlugin', value };
  },
};
