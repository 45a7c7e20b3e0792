/**
 * The Wasm module fields Istio's two extension kinds share: `WasmPlugin.spec` (istio/api
 * extensions/v1alpha1 wasm.proto) and `TrafficExtension.spec.wasm` (traffic_extension.proto,
 * `WasmConfig`) carry the same url, sha256, imagePullPolicy, imagePullSecret, pluginConfig,
 * pluginName, failStrategy, vmConfig and type, only under a different parent; `match` and
 * `phase` sit in `spec` in both. Read once here so both translators produce the same IR
 * (istiod turns both into the same Envoy Wasm filter: pilot/pkg/model/extensions.go).
 *
 * - `url`: `oci://` is the default scheme (as in Istio); `file://` paths that are relative are
 *   resolved against the YAML file's folder so a config directory can carry its plugins.
 * - `pluginConfig` is delivered to the plugin as JSON text; `type: NETWORK` is not supported.
 */
const path = process.getBuiltinModule('node:path');
import type { WasmMatchIR, WasmPhaseIR, WasmPluginIR } from '../ir-wasm.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

const SHA256 = /^[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PHASES: readonly WasmPhaseIR[] = ['AUTHN', 'AUTHZ', 'STATS', 'UNSPECIFIED'];

/** The module part of the IR, read from the fields under `base`. */
export type WasmModuleFields = Pick<WasmPluginIR, 'url' | 'sha256' | 'imagePullPolicy' | 'pluginName' | 'pluginConfig' | 'env' | 'hostEnvKeys' | 'failStrategy'>;

/** Reads the module fields under `base` (`['spec']` or `['spec', 'wasm']`); undefined when the url is unusable. */
export function readWasmModuleFields(r: ObjectReader, base: FieldPath): WasmModuleFields | undefined {
  const url = readUrl(r, [...base, 'url']);
  const sha = r.string([...base, 'sha256']);
  if (sha !== undefined && !SHA256.test(sha.toLowerCase())) r.error([...base, 'sha256'], 'FIELD_INVALID', 'must be 64 hex digits');
  const pluginName = r.string([...base, 'pluginName'], { allowEmpty: true }) ?? '';
  const cfg = r.get([...base, 'pluginConfig']);
  const pluginConfig = cfg === undefined || cfg === null ? '' : JSON.stringify(cfg);
  const failStrategy = readEnum(r, [...base, 'failStrategy'], ['FAIL_CLOSE', 'FAIL_OPEN'] as const, 'FAIL_CLOSE');
  const imagePullPolicy = readEnum(r, [...base, 'imagePullPolicy'], ['IfNotPresent', 'Always'] as const, 'IfNotPresent', 'UNSPECIFIED_POLICY');
  if (r.has([...base, 'imagePullSecret'])) r.warn([...base, 'imagePullSecret'], 'UNSUPPORTED', 'pull secrets are not read here; registries are pulled anonymously');
  const type = r.string([...base, 'type']);
  if (type !== undefined && type !== 'HTTP' && type !== 'UNSPECIFIED_PLUGIN_TYPE') r.error([...base, 'type'], 'UNSUPPORTED', `only HTTP plugins are supported, not ${type}`);
  const { env, hostEnvKeys } = readEnv(r, [...base, 'vmConfig', 'env']);
  if (url === undefined) return undefined;
  return { url, ...(sha !== undefined ? { sha256: sha.toLowerCase() } : {}), imagePullPolicy, pluginName, pluginConfig, env, hostEnvKeys, failStrategy };
}

/** `spec.phase` (both kinds). */
export function readPhase(r: ObjectReader): WasmPhaseIR {
  return readEnum(r, ['spec', 'phase'], PHASES, 'UNSPECIFIED', 'UNSPECIFIED_PHASE');
}

function readUrl(r: ObjectReader, at: FieldPath): string | undefined {
  const raw = r.string(at, { required: true });
  if (raw === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return `oci://${raw}`;
  if (scheme === 'file') {
    const p = decodeURIComponent(raw.slice('file://'.length));
    if (p === '') {
      r.error(at, 'FIELD_INVALID', 'file:// URL has no path');
      return undefined;
    }
    return `file://${path.isAbsolute(p) ? p : path.resolve(path.dirname(r.origin.source), p)}`;
  }
  if (scheme === 'http' || scheme === 'https' || scheme === 'oci') {
    try {
      new URL(scheme === 'oci' ? `https://${raw.slice(6)}` : raw);
    } catch {
      r.error(at, 'FIELD_INVALID', `${JSON.stringify(raw)} is not a valid URL`);
      return undefined;
    }
    return raw;
  }
  r.error(at, 'FIELD_INVALID', `unsupported scheme ${scheme}: use oci://, file://, http:// or https://`);
  return undefined;
}

export function readEnum<T extends string>(r: ObjectReader, p: FieldPath, allowed: readonly T[], dflt: T, unspecified?: string): T {
  const v = r.string(p);
  if (v === undefined || v === unspecified) return dflt;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  r.error(p, 'FIELD_INVALID', `must be one of ${allowed.join(', ')}`);
  return dflt;
}

function readEnv(r: ObjectReader, base: FieldPath): { env: Record<string, string>; hostEnvKeys: string[] } {
  const env: Record<string, string> = {};
  const hostEnvKeys: string[] = [];
  r.list(base).forEach((_, i) => {
    const p = [...base, i];
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

/** `spec.match` (both kinds): traffic selectors by mode and port. */
export function readMatch(r: ObjectReader): WasmMatchIR[] {
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
