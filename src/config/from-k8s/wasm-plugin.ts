/**
 * `extensions.istio.io/v1alpha1 WasmPlugin` → {@link WasmPluginIR} (istio/api extensions/v1alpha1
 * wasm.proto; how istiod turns it into Envoy config: pilot/pkg/model/extensions.go).
 *
 * - Attachment: waypoints read `targetRefs` only (a Gateway, a Service, or the GatewayClass from
 *   the root namespace, via {@link forEachTargetRef}); a selector-only plugin is for sidecars and
 *   is skipped with a warning. At most 16 refs.
 * - `url`: `oci://` is the default scheme (as in Istio); `file://` paths that are relative are
 *   resolved against the YAML file's folder so a config directory can carry its plugins.
 * - `pluginConfig` is delivered to the plugin as JSON text; `type: NETWORK` is not supported.
 */
import path from 'node:path';
import type { WasmMatchIR, WasmPhaseIR, WasmPluginIR } from '../ir-wasm.js';
import type { PolicyTargetIR } from '../ir-security.js';
import type { ObjectReader } from './object-reader.js';
import { hasPolicyTargets, readPolicyTargets } from './policy-targets.js';
import type { Translator } from './translator.js';

const PHASES: readonly WasmPhaseIR[] = ['AUTHN', 'AUTHZ', 'STATS', 'UNSPECIFIED'];
const SHA256 = /^[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
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
    const url = readUrl(r);
    const sha = r.string(['spec', 'sha256']);
    if (sha !== undefined && !SHA256.test(sha.toLowerCase())) r.error(['spec', 'sha256'], 'FIELD_INVALID', 'must be 64 hex digits');
    const phase = readEnum(r, ['spec', 'phase'], PHASES, 'UNSPECIFIED', 'UNSPECIFIED_PHASE');
    const priority = r.integer(['spec', 'priority'], { min: -2147483648, max: 2147483647 }) ?? 0;
    const pluginName = r.string(['spec', 'pluginName'], { allowEmpty: true }) ?? '';
    const cfg = r.get(['spec', 'pluginConfig']);
    const pluginConfig = cfg === undefined || cfg === null ? '' : JSON.stringify(cfg);
    const failStrategy = readEnum(r, ['spec', 'failStrategy'], ['FAIL_CLOSE', 'FAIL_OPEN'] as const, 'FAIL_CLOSE');
    const imagePullPolicy = readEnum(r, ['spec', 'imagePullPolicy'], ['IfNotPresent', 'Always'] as const, 'IfNotPresent', 'UNSPECIFIED_POLICY');
    if (r.has(['spec', 'imagePullSecret'])) r.warn(['spec', 'imagePullSecret'], 'UNSUPPORTED', 'pull secrets are not read here; registries are pulled anonymously');
    const type = r.string(['spec', 'type']);
    if (type !== undefined && type !== 'HTTP' && type !== 'UNSPECIFIED_PLUGIN_TYPE') r.error(['spec', 'type'], 'UNSUPPORTED', `only HTTP plugins are supported, not ${type}`);
    const { env, hostEnvKeys } = readEnv(r);
    const match = readMatch(r);
    if (r.failed || url === undefined) return undefined;
    const value: WasmPluginIR = {
      name: r.id.name,
      namespace,
      targets,
      url,
      ...(sha !== undefined ? { sha256: sha.toLowerCase() } : {}),
      imagePullPolicy,
      phase,
      priority,
      pluginName,
      pluginConfig,
      env,
      hostEnvKeys,
      match,
      failStrategy,
      origin: r.origin,
    };
    return { type: 'WasmPlugin', value };
  },
};

function readUrl(r: ObjectReader): string | undefined {
  const raw = r.string(['spec', 'url'], { required: true });
  if (raw === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return `oci://${raw}`;
  if (scheme === 'file') {
    const p = decodeURIComponent(raw.slice('file://'.length));
    if (p === '') {
      r.error(['spec', 'url'], 'FIELD_INVALID', 'file:// URL has no path');
      return undefined;
    }
    return `file://${path.isAbsolute(p) ? p : path.resolve(path.dirname(r.origin.source), p)}`;
  }
  if (scheme === 'http' || scheme === 'https' || scheme === 'oci') {
    try {
      new URL(scheme === 'oci' ? `https://${raw.slice(6)}` : raw);
    } catch {
      r.error(['spec', 'url'], 'FIELD_INVALID', `${JSON.stringify(raw)} is not a valid URL`);
      return undefined;
    }
    return raw;
  }
  r.error(['spec', 'url'], 'FIELD_INVALID', `unsupported scheme ${scheme}: use oci://, file://, http:// or https://`);
  return undefined;
}

function readEnum<T extends string>(r: ObjectReader, p: readonly string[], allowed: readonly T[], dflt: T, unspecified?: string): T {
  const v = r.string(p);
  if (v === undefined || v === unspecified) return dflt;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  r.error(p, 'FIELD_INVALID', `must be one of ${allowed.join(', ')}`);
  return dflt;
}

function readEnv(r: ObjectReader): { env: Record<string, string>; hostEnvKeys: string[] } {
  const env: Record<string, string> = {};
  const hostEnvKeys: string[] = [];
  r.list(['spec', 'vmConfig', 'env']).forEach((_, i) => {
    const p = ['spec', 'vmConfig', 'env', i];
    if (r.record(p, true) === undefined) return;
    const name = r.string([...p, 'name'], { required: true });
    if (name === undefined) return;
    if (!ENV_NAME.test(name)) {
      r.error([...p, 'name'], 'FIELD_INVALID', 'must be an environment variable name');
      return;
    }
    // Istio's internal keys never reach Envoy (pkg/wasm/convert.go).
    if (name.startsWith('ISTIO_META_WASM_')) return;
    const from = r.string([...p, 'valueFrom']) ?? 'INLINE';
    if (from === 'HOST') hostEnvKeys.push(name);
    else if (from === 'INLINE') env[name] = r.string([...p, 'value'], { allowEmpty: true }) ?? '';
    else r.error([...p, 'valueFrom'], 'FIELD_INVALID', 'must be INLINE or HOST');
  });
  return { env, hostEnvKeys };
}

function readMatch(r: ObjectReader): WasmMatchIR[] {
  const out: WasmMatchIR[] = [];
  r.list(['spec', 'match']).forEach((_, i) => {
    const p = ['spec', 'match', i];
    if (r.record(p, true) === undefined) return;
    const modeRaw = r.string([...p, 'mode']);
    const mode = modeRaw === 'CLIENT' || modeRaw === 'SERVER' ? modeRaw : 'CLIENT_AND_SERVER';
    if (modeRaw !== undefined && modeRaw !== mode && modeRaw !== 'UNDEFINED') r.error([...p, 'mode'], 'FIELD_INVALID', 'must be CLIENT, SERVER or CLIENT_AND_SERVER');
    const ports: number[] = [];
    r.list([...p, 'ports']).forEach((__, j) => {
      const n = r.port([...p, 'ports', j, 'number']);
      if (n !== undefined) ports.push(n);
    });
    out.push({ mode, ports });
  });
  return out;
}
