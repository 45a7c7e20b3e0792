/**
 * Mesh-wide settings (a MeshConfig subset). Like Istio, they come from the `mesh` key of the
 * ConfigMap `istio` in the namespace istiod runs in (`istio-system`, which is also the default root
 * namespace); every setting is optional and falls back to {@link DEFAULT_MESH}.
 *
 * Read: `trustDomain`, `rootNamespace`, `pathNormalization.normalization`, and the
 * `envoyFileAccessLog` entries of `extensionProviders` (name → text or JSON, for the Telemetry
 * API's `accessLogging`; the line's fields are always Istio's default set), the
 * `envoyExtAuthzHttp` / `envoyExtAuthzGrpc` entries (AuthorizationPolicy CUSTOM,
 * `ext-authz-providers.ts`), and the tracing settings (`tracing-providers.ts`). `clusterDomain`
 * is not a MeshConfig field in Istio (it is a deployment setting), so it stays at its default.
 */
import { parse as parseYaml } from 'yaml';
import { parseExtAuthzProviders } from './ext-authz-providers.js';
import { DEFAULT_MESH } from './ir.js';
import type { MeshIR } from './ir.js';
import type { MeshSettingsDraft } from './from-k8s/translator.js';
import { parseTracingSettings } from './tracing-providers.js';

/** Where the settings live. */
export const MESH_CONFIG_MAP = Object.freeze({
  namespace: DEFAULT_MESH.rootNamespace,
  name: 'istio',
  key: 'mesh',
});

export interface MeshSettingsProblem {
  /** Field inside the mesh YAML, e.g. `trustDomain`. */
  readonly field: string;
  readonly message: string;
  /** A setting that applies without the unsupported part (default: an error, the settings are rejected). */
  readonly warning?: true;
}

/** SPIFFE trust domain characters (spiffe.io: SPIFFE-ID §2.1), lowercase only. */
const TRUST_DOMAIN_RE = /^[a-z0-9._-]+$/;
/** A namespace name is an RFC 1123 label. */
const NAMESPACE_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses the `mesh` YAML text. Problems reject only the setting they concern. */
export function parseMeshSettings(text: string): { settings: MeshSettingsDraft; problems: MeshSettingsProblem[] } {
  const problems: MeshSettingsProblem[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push({ field: '', message: `mesh config is not valid YAML: ${err instanceof Error ? err.message : String(err)}` });
    return { settings: {}, problems };
  }
  if (doc === null || doc === undefined) return { settings: {}, problems };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push({ field: '', message: 'mesh config must be a mapping' });
    return { settings: {}, problems };
  }
  const rec = doc as Record<string, unknown>;
  const settings: { -readonly [K in keyof MeshSettingsDraft]: MeshSettingsDraft[K] } = {};
  const td = rec['trustDomain'];
  if (td !== undefined && td !== null) {
    if (typeof td === 'string' && TRUST_DOMAIN_RE.test(td)) settings.trustDomain = td;
    else problems.push({ field: 'trustDomain', message: `must be a SPIFFE trust domain (lowercase letters, digits, '.', '-', '_'), got ${JSON.stringify(td)}` });
  }
  const root = rec['rootNamespace'];
  if (root !== undefined && root !== null) {
    if (typeof root === 'string' && NAMESPACE_RE.test(root)) settings.rootNamespace = root;
    else problems.push({ field: 'rootNamespace', message: `must be a namespace name, got ${JSON.stringify(root)}` });
  }
  const pn = rec['pathNormalization'];
  if (pn !== undefined && pn !== null) {
    const mode = typeof pn === 'object' && !Array.isArray(pn) ? (pn as Record<string, unknown>)['normalization'] : undefined;
    if (mode === undefined || mode === null) settings.pathNormalization = 'BASE';
    else if (mode === 'NONE' || mode === 'BASE' || mode === 'MERGE_SLASHES' || mode === 'DECODE_AND_MERGE_SLASHES') settings.pathNormalization = mode;
    else if (mode === 'DEFAULT') settings.pathNormalization = 'BASE';
    else problems.push({ field: 'pathNormalization.normalization', message: `must be NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got ${JSON.stringify(mode)}` });
  }
  const providers = rec['extensionProviders'];
  if (providers !== undefined && providers !== null) {
    const found = parseAccessLogProviders(providers, problems);
    if (found) settings.accessLogProviders = found;
    const extAuthz = parseExtAuthzProviders(providers, problems);
    if (extAuthz) settings.extAuthzProviders = extAuthz;
  }
  const tracing = parseTracingSettings(rec, problems);
  if (tracing) settings.tracing = tracing;
  return { settings, problems };
}

/** `extensionProviders[]` with `envoyFileAccessLog`: `logFormat.labels` means JSON, else text. */
function parseAccessLogProviders(value: unknown, problems: MeshSettingsProblem[]): Record<string, 'text' | 'json'> | undefined {
  if (!Array.isArray(value)) {
    problems.push({ field: 'extensionProviders', message: 'must be a list' });
    return undefined;
  }
  const out: Record<string, 'text' | 'json'> = {};
  value.forEach((entry: unknown, i) => {
    const e = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
    const name = e?.['name'];
    if (typeof name !== 'string' || name === '') {
      problems.push({ field: `extensionProviders[${i}].name`, message: 'is required' });
      return;
    }
    const fileLog = e?.['envoyFileAccessLog'];
    if (typeof fileLog !== 'object' || fileLog === null) return;
    const format = (fileLog as Record<string, unknown>)['logFormat'];
    const labels = typeof format === 'object' && format !== null ? (format as Record<string, unknown>)['labels'] : undefined;
    out[name] = labels !== undefined && labels !== null ? 'json' : 'text';
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The effective mesh settings: the ConfigMap's, else the defaults. */
export function resolveMesh(settings: MeshSettingsDraft | undefined): MeshIR {
  return Object.freeze({
    trustDomain: settings?.trustDomain ?? DEFAULT_MESH.trustDomain,
    clusterDomain: DEFAULT_MESH.clusterDomain,
    rootNamespace: settings?.rootNamespace ?? DEFAULT_MESH.rootNamespace,
    ...(settings?.pathNormalization !== undefined ? { pathNormalization: settings.pathNormalization } : {}),
    ...(settings?.accessLogProviders !== undefined ? { accessLogProviders: settings.accessLogProviders } : {}),
    ...(settings?.tracing !== undefined ? { tracing: settings.tracing } : {}),
    ...(settings?.extAuthzProviders !== undefined ? { extAuthzProviders: settings.extAuthzProviders } : {}),
  });
}
