/**
 * `--tracing-endpoint URL` and `--tracing-sampling PCT` (waypoint and `up`): the default for where
 * the waypoint's spans go (an OpenTelemetry collector's OTLP/HTTP base URL; spans are POSTed to
 * `/v1/traces`) and the percentage of new traces sampled (Istio's `sampling`, default 1). The mesh
 * config's `extensionProviders` + `defaultProviders.tracing` and the Telemetry API's `tracing`
 * override them (`src/telemetry/tracing-policy.ts`). With neither, tracing is off: no spans and no
 * propagation headers rewritten.
 */
import { DEFAULT_TRACING_SAMPLING } from '../telemetry/tracing-policy.js';
import type { TracingFlags } from '../telemetry/tracing-policy.js';
import { UsageError } from './usage-error.js';

export const TRACING_OPTIONS = {
  'tracing-endpoint': { type: 'string' },
  'tracing-sampling': { type: 'string' },
} as const;

export type TracingSettings = TracingFlags;

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
