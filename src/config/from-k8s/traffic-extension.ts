/**
 * `extensions.istio.io/v1alpha1 TrafficExtension` → {@link WasmPluginIR}, the same IR as a
 * WasmPlugin (istio/api extensions/v1alpha1/traffic_extension.proto, Istio 1.30: "supersedes
 * WasmPlugin by providing a unified mechanism for configuring multiple extension types"). The
 * schema: `selector` | `targetRefs` (at most one of them, at most 16 refs), `phase`, `priority`
 * (Int32Value), `match` (TrafficSelector, as WasmPlugin's), and exactly one of `wasm`
 * (WasmConfig: WasmPlugin's module fields, one level down) or `lua` (`inlineCode`).
 *
 * - Attachment as WasmPlugin: waypoints read `targetRefs` only; a selector-only extension is for
 *   sidecars and gateways and is skipped with a warning.
 * - `lua`: Envoy's Lua filter is not part of this data plane; such an extension is rejected with
 *   a diagnostic on `spec.lua` (a data plane that silently dropped it would serve traffic the
 *   author meant to filter).
 * - Placement and order are WasmPlugin's: same phases, priority descending, then name and
 *   namespace, WasmPlugins and TrafficExtensions ordered together.
 */
import type { WasmPluginIR } from '../ir-wasm.js';
import type { PolicyTargetIR } from '../ir-security.js';
import { hasPolicyTargets, readPolicyTargets } from './policy-targets.js';
import type { Translator } from './translator.js';
import { readMatch, readPhase, readWasmModuleFields } from './wasm-module-fields.js';

const MAX_TARGETS = 16;
const MAX_LUA_BYTES = 65536;

export const trafficExtensionTranslator: Translator = {
  kind: 'TrafficExtension',
  apiVersions: ['extensions.istio.io/v1alpha1'],
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const hasWasm = r.has(['spec', 'wasm']);
    const hasLua = r.has(['spec', 'lua']);
    if (hasWasm === hasLua) {
      r.error(['spec'], 'FIELD_INVALID', 'exactly one of wasm or lua must be set');
      return undefined;
    }
    if (hasLua) {
      const code = r.string(['spec', 'lua', 'inlineCode'], { required: true });
      if (code !== undefined && Buffer.byteLength(code) > MAX_LUA_BYTES) r.error(['spec', 'lua', 'inlineCode'], 'FIELD_INVALID', `at most ${MAX_LUA_BYTES} bytes`);
      r.error(['spec', 'lua'], 'UNSUPPORTED', 'Lua extensions are not supported by this waypoint (only wasm)');
      return undefined;
    }
    if (r.record(['spec', 'wasm'], true) === undefined) return undefined;
    if (!hasPolicyTargets(r)) {
      r.warn(['spec'], 'UNSUPPORTED', 'waypoints apply only TrafficExtensions attached by targetRefs; this one (selector or no target) is skipped');
      return undefined;
    }
    if (r.record(['spec', 'selector'])) r.error(['spec', 'selector'], 'FIELD_INVALID', 'only one of targetRefs or selector can be set');
    const targets: PolicyTargetIR[] = readPolicyTargets(r, namespace);
    if (targets.length > MAX_TARGETS) r.error(['spec', 'targetRefs'], 'FIELD_INVALID', `at most ${MAX_TARGETS} targetRefs`);
    const module = readWasmModuleFields(r, ['spec', 'wasm']);
    if (r.has(['spec', 'wasm', 'pluginName']) && module?.pluginName === '') r.error(['spec', 'wasm', 'pluginName'], 'FIELD_INVALID', 'must not be empty when set');
    const phase = readPhase(r);
    const priority = r.integer(['spec', 'priority'], { min: -2147483648, max: 2147483647 }) ?? 0;
    const match = readMatch(r);
    if (r.failed || module === undefined) return undefined;
    const value: WasmPluginIR = { name: r.id.name, namespace, kind: 'TrafficExtension', targets, ...module, phase, priority, match, origin: r.origin };
    return { type: 'WasmPlugin', value };
  },
};
