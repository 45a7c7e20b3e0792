/**
 * `--tracing-endpoint URL` and `--tracing-sampling PCT` (waypoint and `up`): where the waypoint's
 * spans go (an OpenTelemetry collector's OTLP/HTTP base URL; spans are POSTed to `/v1/traces`)
 * and the percentage of new traces sampled (Istio's `sampling`, default 1). Without an endpoint,
 * tracing is off: no spans and no propagation headers rewritten. A stand-in until the mesh
 * config's `extensionProviders` + Telemetry API `tracing` are translated.
 */
import { OtlpHttpExporter } from '../telemetry/otlp-exporter.js';
import { WaypointTracer, waypointSpanIdentity } from '../telemetry/waypoint-tracer.js';
import { UsageError } from './usage-error.js';

export const TRACING_OPTIONS = {
  'tracing-endpoint': { type: 'string' },
  'tracing-sampling': { type: 'string' },
} as const;

/** Istio's default `sampling` (meshConfig `defaultConfig.tracing.sampling`). */
export const DEFAULT_TRACING_SAMPLING = 1;

export interface TracingSettings {
  readonly endpoint: string;
  readonly samplingPercent: number;
}

/** Validated settings, or undefined when no endpoint was given. */
export function parseTracing(endpoint: string | undefined, sampling: string | undefined): TracingSettings | undefined {
  let samplingPercent = DEFAULT_TRACING_SAMPLING;
  if (sampling !== undefined) {
    samplingPercent = Number(sampling);
    if (sampling.trim() === '' || !Number.isFinite(samplingPercent) || samplingPercent < 0 || samplingPercent > 100) {
      throw new UsageError('--tracing-sampling must be a percentage between 0 and 100');
    }
  }
  if (endpoint === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError('--tracing-endpoint must be a URL like http://127.0.0.1:4318');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--tracing-endpoint must be an http(s) URL');
  return { endpoint: url.href, samplingPercent };
}

/** The flags again, for a child process (`up` passes them to its waypoints). */
export function tracingArgs(t: TracingSettings | undefined): string[] {
  return t ? ['--tracing-endpoint', t.endpoint, '--tracing-sampling', String(t.samplingPercent)] : [];
}

/** A waypoint's tracer from the settings; its exporter must be closed on shutdown. */
export function waypointTracer(t: TracingSettings, namespace: string, name: string, address: string): WaypointTracer {
  const exporter = new OtlpHttpExporter({ endpoint: t.endpoint, serviceName: `${name}.${namespace}` });
  return new WaypointTracer({ exporter, samplingPercent: t.samplingPercent, identity: waypointSpanIdentity(namespace, name, address) });
}
