/**
 * The mesh config's tracing settings (MeshConfig fields, as istiod reads them):
 * - `extensionProviders[].opentelemetry`: `service`, `port`, and an optional `http` block
 *   (`path`, `timeout`, `headers[].name/value`) that switches OTLP/gRPC to OTLP/HTTP.
 *   Other tracing provider kinds (`zipkin`, `datadog`, `skywalking`...) are reported: spans are
 *   exported over OTLP only.
 * - `defaultProviders.tracing`: the provider used where no Telemetry names one.
 * - `enableTracing` (default true) and `defaultConfig.tracing.sampling` (percent, default 1).
 */
import type { MeshTracingIR, TracingProviderIR } from './ir-telemetry.js';
import type { MeshSettingsProblem } from './mesh-config.js';

const OTHER_TRACERS = ['zipkin', 'datadog', 'lightstep', 'skywalking', 'stackdriver', 'sds'] as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

type Rec = Record<string, unknown>;
const asRecord = (v: unknown): Rec | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : undefined);

function durationMs(v: unknown): number | undefined {
  const m = typeof v === 'string' ? DURATION_RE.exec(v) : null;
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000);
}

function readProvider(name: string, otel: Rec, field: string, problems: MeshSettingsProblem[]): TracingProviderIR | undefined {
  const service = otel['service'];
  const port = otel['port'];
  if (typeof service !== 'string' || service === '') {
    problems.push({ field: `${field}.service`, message: 'is required' });
    return undefined;
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push({ field: `${field}.port`, message: `must be a port number, got ${JSON.stringify(port)}` });
    return undefined;
  }
  const http = asRecord(otel['http']);
  if (!http) return { name, service, port, protocol: 'grpc', headers: {} };
  const headers: Record<string, string> = {};
  const list = http['headers'];
  if (Array.isArray(list)) {
    list.forEach((h: unknown, i) => {
      const hr = asRecord(h);
      const hn = hr?.['name'];
      const hv = hr?.['value'];
      if (typeof hn === 'string' && typeof hv === 'string' && !/[\r\n]/.test(hn + hv)) headers[hn.toLowerCase()] = hv;
      else problems.push({ field: `${field}.http.headers[${i}]`, message: 'needs a name and a value without CR/LF' });
    });
  }
  const path = http['path'];
  const timeout = http['timeout'];
  const timeoutMs = timeout === undefined ? undefined : durationMs(timeout);
  if (timeout !== undefined && timeoutMs === undefined) problems.push({ field: `${field}.http.timeout`, message: `must be a duration like 5s, got ${JSON.stringify(timeout)}` });
  return {
    name,
    service,
    port,
    protocol: 'http',
    ...(typeof path === 'string' && path !== '' ? { path: path.startsWith('/') ? path : `/${path}` } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    headers,
  };
}

/** Tracing settings from the mesh config document; `undefined` when it says nothing about tracing. */
export function parseTracingSettings(doc: Rec, problems: MeshSettingsProblem[]): MeshTracingIR | undefined {
  const providers: Record<string, TracingProviderIR> = {};
  const list = doc['extensionProviders'];
  if (Array.isArray(list)) {
    list.forEach((entry: unknown, i) => {
      const e = asRecord(entry);
      const name = e?.['name'];
      if (!e || typeof name !== 'string') return;
      const otel = asRecord(e['opentelemetry']);
      if (otel) {
        const p = readProvider(name, otel, `extensionProviders[${i}].opentelemetry`, problems);
        if (p) providers[name] = p;
      }
      const other = OTHER_TRACERS.find((k) => e[k] !== undefined);
      if (other) problems.push({ field: `extensionProviders[${i}].${other}`, message: `${other} tracing is not supported: spans are exported over OpenTelemetry (OTLP) only`, warning: true });
    });
  }
  const defaults = asRecord(doc['defaultProviders'])?.['tracing'];
  const defaultProviders = Array.isArray(defaults) ? defaults.filter((d): d is string => typeof d === 'string') : [];
  const enable = doc['enableTracing'];
  const sampling = asRecord(asRecord(asRecord(doc['defaultConfig'])?.['tracing']))?.['sampling'];
  let samplingPercent: number | undefined;
  if (sampling !== undefined) {
    if (typeof sampling === 'number' && sampling >= 0 && sampling <= 100) samplingPercent = sampling;
    else problems.push({ field: 'defaultConfig.tracing.sampling', message: `must be a percentage between 0 and 100, got ${JSON.stringify(sampling)}` });
  }
  if (Object.keys(providers).length === 0 && defaultProviders.length === 0 && enable === undefined && samplingPercent === undefined) return undefined;
  return { providers, defaultProviders, enabled: enable !== false, ...(samplingPercent !== undefined ? { samplingPercent } : {}) };
}
