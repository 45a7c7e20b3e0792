/**
 * Mesh-wide settings (a MeshConfig subset). Like Istio, they come from the `mesh` key of the
 * ConfigMap `istio` in the namespace istiod runs in (`istio-system`, which is also the default root
 * namespace); every setting is optional and falls back to {@link DEFAULT_MESH}.
 *
 * Read: `trustDomain`, `rootNamespace`, `pathNormalization.normalization`,
 * `defaultHttpRetryPolicy` (`mesh-retry-policy.ts`), and the
 * `envoyFileAccessLog` entries of `extensionProviders` (name → text or JSON and the custom
 * `logFormat` when there is one, for the Telemetry API's `accessLogging`), `accessLogEncoding` and
 * `accessLogFormat` (the built-in `envoy` provider's, as in Istio), the
 * `envoyExtAuthzHttp` / `envoyExtAuthzGrpc` entries (AuthorizationPolicy CUSTOM,
 * `ext-authz-providers.ts`), and the tracing settings (`tracing-providers.ts`). `clusterDomain`
 * is not a MeshConfig field in Istio (it is a deployment setting), so it stays at its default.
 */
import { parse as parseYaml } from 'yaml';
import { parseExtAuthzProviders } from './ext-authz-providers.js';
import { parseMeshRetryPolicy } from './mesh-retry-policy.js';
import { DEFAULT_MESH } from './ir.js';
import type { LogFormatIR } from './log-format.js';
import { parseLogTemplate } from './log-format.js';
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
  const retry = rec['defaultHttpRetryPolicy'];
  if (retry !== undefined && retry !== null) {
    const parsed = parseMeshRetryPolicy(retry, problems);
    if (parsed) settings.defaultHttpRetry = parsed;
  }
  const formats: Record<string, LogFormatIR> = {};
  const encodings: Record<string, 'text' | 'json'> = {};
  parseDefaultAccessLog(rec, encodings, formats, problems);
  const providers = rec['extensionProviders'];
  if (providers !== undefined && providers !== null) parseAccessLogProviders(providers, encodings, formats, problems);
  if (Object.keys(encodings).length > 0) settings.accessLogProviders = encodings;
  if (Object.keys(formats).length > 0) settings.accessLogFormats = formats;
  if (providers !== undefined && providers !== null) {
    const extAuthz = parseExtAuthzProviders(providers, problems);
    if (extAuthz) settings.extAuthzProviders = extAuthz;
  }
  const tracing = parseTracingSettings(rec, problems);
  if (tracing) settings.tracing = tracing;
  return { settings, problems };
}

/**
 * A `logFormat.text` or `accessLogFormat` string (Istio ends the line itself, so a trailing
 * newline is dropped) or `logFormat.labels` map; unknown commands are warned.
 */
function logFormat(text: unknown, labels: unknown, field: string, problems: MeshSettingsProblem[]): LogFormatIR | undefined {
  const warnUnsupported = (at: string, unsupported: readonly string[]): void => {
    if (unsupported.length > 0) problems.push({ field: at, message: `unsupported command(s) ${unsupported.map((c) => `%${c}%`).join(', ')} print '-'`, warning: true });
  };
  if (labels !== undefined && labels !== null) {
    if (typeof labels !== 'object' || Array.isArray(labels)) {
      problems.push({ field: `${field}.labels`, message: 'must be a mapping of JSON keys to format strings' });
      return undefined;
    }
    const out: [string, ReturnType<typeof parseLogTemplate>['template']][] = [];
    for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
      if (typeof value !== 'string') {
        problems.push({ field: `${field}.labels.${key}`, message: 'must be a string' });
        continue;
      }
      const parsed = parseLogTemplate(value);
      warnUnsupported(`${field}.labels.${key}`, parsed.unsupported);
      out.push([key, parsed.template]);
    }
    // An empty map means Istio's default JSON keys.
    return out.length > 0 ? { kind: 'json', labels: out } : undefined;
  }
  if (typeof text === 'string' && text !== '') {
    const parsed = parseLogTemplate(text.endsWith('\n') ? text.slice(0, -1) : text);
    warnUnsupported(`${field}.text`, parsed.unsupported);
    return { kind: 'text', template: parsed.template };
  }
  if (text !== undefined && text !== null && typeof text !== 'string') problems.push({ field: `${field}.text`, message: 'must be a string' });
  return undefined;
}

/** MeshConfig `accessLogEncoding` (TEXT, JSON) and `accessLogFormat`: the `envoy` provider's line. */
function parseDefaultAccessLog(rec: Record<string, unknown>, encodings: Record<string, 'text' | 'json'>, formats: Record<string, LogFormatIR>, problems: MeshSettingsProblem[]): void {
  const encoding = rec['accessLogEncoding'];
  if (encoding !== undefined && encoding !== null && encoding !== 'TEXT' && encoding !== 'JSON') {
    problems.push({ field: 'accessLogEncoding', message: `must be TEXT or JSON, got ${JSON.stringify(encoding)}` });
    return;
  }
  const json = encoding === 'JSON';
  if (encoding !== undefined && encoding !== null) encodings['envoy'] = json ? 'json' : 'text';
  const format = rec['accessLogFormat'];
  if (format === undefined || format === null || format === '') return;
  if (typeof format !== 'string') {
    problems.push({ field: 'accessLogFormat', message: 'must be a string' });
    return;
  }
  let labels: unknown;
  if (json) {
    try {
      labels = JSON.parse(format) as unknown;
    } catch {
      problems.push({ field: 'accessLogFormat', message: 'with accessLogEncoding JSON it must be a JSON object of keys to format strings' });
      return;
    }
  }
  const f = json ? logFormat(undefined, labels, 'accessLogFormat', problems) : logFormat(format, undefined, 'accessLogFormat', problems);
  if (f) formats['envoy'] = f;
}

/** `extensionProviders[]` with `envoyFileAccessLog`: `logFormat.labels` means JSON, else text. */
function parseAccessLogProviders(value: unknown, encodings: Record<string, 'text' | 'json'>, formats: Record<string, LogFormatIR>, problems: MeshSettingsProblem[]): void {
  if (!Array.isArray(value)) {
    problems.push({ field: 'extensionProviders', message: 'must be a list' });
    return;
  }
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
    const fmt = typeof format === 'object' && format !== null ? (format as Record<string, unknown>) : undefined;
    const labels = fmt?.['labels'];
    encodings[name] = labels !== undefined && labels !== null ? 'json' : 'text';
    const custom = logFormat(fmt?.['text'], labels, `extensionProviders[${i}].envoyFileAccessLog.logFormat`, problems);
    if (custom) formats[name] = custom;
  });
}

/** The effective mesh settings: the ConfigMap's, else the defaults. */
export function resolveMesh(settings: MeshSettingsDraft | undefined): MeshIR {
  return Object.freeze({
    trustDomain: settings?.trustDomain ?? DEFAULT_MESH.trustDomain,
    clusterDomain: DEFAULT_MESH.clusterDomain,
    rootNamespace: settings?.rootNamespace ?? DEFAULT_MESH.rootNamespace,
    ...(settings?.pathNormalization !== undefined ? { pathNormalization: settings.pathNormalization } : {}),
    ...(settings?.defaultHttpRetry !== undefined ? { defaultHttpRetry: settings.defaultHttpRetry } : {}),
    ...(settings?.accessLogProviders !== undefined ? { accessLogProviders: settings.accessLogProviders } : {}),
    ...(settings?.accessLogFormats !== undefined ? { accessLogFormats: settings.accessLogFormats } : {}),
    ...(settings?.tracing !== undefined ? { tracing: settings.tracing } : {}),
    ...(settings?.extAuthzProviders !== undefined ? { extAuthzProviders: settings.extAuthzProviders } : {}),
  });
}
