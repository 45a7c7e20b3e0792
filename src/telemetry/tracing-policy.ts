/**
 * Tracing applied to a running waypoint, per view: the Telemetry API's `tracing` (most specific
 * first: `targetRefs` to this waypoint's Gateway, then the waypoint's namespace, then the root
 * namespace; each field inherits from the less specific level when unset, as Istio merges them),
 * over the mesh config's `defaultProviders.tracing` and `defaultConfig.tracing.sampling`, over the
 * command-line flags. The tracer's target changes only when the resolved provider or sampling
 * does; the old exporter is flushed and closed.
 */
import type { Snapshot, WaypointRef } from '../config/ir.js';
import type { CustomTagIR, TracingIR, TracingProviderIR } from '../config/ir-telemetry.js';
import type { ViewSource } from '../state/view-source.js';
import { DeferredSpanTransport } from './deferred-span-transport.js';
import { OtlpHttpExporter } from './otlp-http-transport.js';
import type { SpanExportStats } from './span-exporter.js';
import { SpanExporter } from './span-exporter.js';
import { telemetryLevels } from './access-log-policy.js';
import type { WaypointTracer } from './waypoint-tracer.js';

/** Istio's default `sampling` (meshConfig `defaultConfig.tracing.sampling`). */
export const DEFAULT_TRACING_SAMPLING = 1;

/** A custom tag resolved for the spans: a fixed value, or a request header read per span. */
export type SpanTag = { readonly key: string; readonly value: string } | { readonly key: string; readonly header: string; readonly defaultValue?: string };

/** Where spans go, resolved: a provider from config, or the flags' OTLP/HTTP endpoint. */
export type ResolvedTracing = (
  | { readonly kind: 'provider'; readonly provider: TracingProviderIR; readonly samplingPercent: number }
  | { readonly kind: 'endpoint'; readonly endpoint: string; readonly samplingPercent: number }
) & { readonly customTags: readonly SpanTag[] };

/** The flags: an OTLP/HTTP collector URL and a sampling percentage. */
export interface TracingFlags {
  readonly endpoint: string;
  readonly samplingPercent: number;
}

/** The merged Telemetry `tracing` for the waypoint (fields from the most specific level that sets them). */
interface MergedTracing {
  providers?: readonly string[];
  sampling?: number;
  disabled?: boolean;
  customTags?: Readonly<Record<string, CustomTagIR>>;
}

function mergedTelemetry(snapshot: Snapshot, waypoint: WaypointRef): MergedTracing {
  const out: MergedTracing = {};
  for (const level of telemetryLevels(snapshot, waypoint)) {
    for (const t of level) {
      const tr: TracingIR | undefined = t.tracing;
      if (!tr) continue;
      if (out.providers === undefined && tr.providers.length > 0) out.providers = tr.providers;
      if (out.sampling === undefined && tr.randomSamplingPercentage !== undefined) out.sampling = tr.randomSamplingPercentage;
      if (out.disabled === undefined && tr.disableSpanReporting !== undefined) out.disabled = tr.disableSpanReporting;
      if (out.customTags === undefined && tr.customTags !== undefined) out.customTags = tr.customTags;
    }
  }
  return out;
}

/** What the config (and flags) ask of this waypoint; `undefined` = tracing off. */
export function tracingFor(snapshot: Snapshot, waypoint: WaypointRef, flags: TracingFlags | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedTracing | undefined {
  const mesh = snapshot.mesh.tracing;
  const t = mergedTelemetry(snapshot, waypoint);
  if (t.disabled) return undefined;
  const samplingPercent = t.sampling ?? mesh?.samplingPercent ?? flags?.samplingPercent ?? DEFAULT_TRACING_SAMPLING;
  const customTags = resolveTags(t.customTags, env);
  const telemetryNamed = t.providers !== undefined;
  // Istio uses the first provider of the list, whichever level named it.
  const name = (t.providers ?? mesh?.defaultProviders ?? [])[0];
  const provider = name === undefined ? undefined : mesh?.providers[name];
  if (provider && (telemetryNamed || mesh?.enabled !== false)) return { kind: 'provider', provider, samplingPercent, customTags };
  if (name !== undefined) return undefined; // a provider was asked for that the mesh does not define
  if (mesh?.enabled === false) return undefined;
  return flags ? { kind: 'endpoint', endpoint: flags.endpoint, samplingPercent, customTags } : undefined;
}

/**
 * Literal and environment tags are fixed for the proxy's life (Istio reads the proxy's
 * environment); header tags are read per span. An unset variable without a default adds no tag.
 */
function resolveTags(tags: Readonly<Record<string, CustomTagIR>> | undefined, env: NodeJS.ProcessEnv): SpanTag[] {
  const out: SpanTag[] = [];
  for (const [key, t] of Object.entries(tags ?? {})) {
    if (t.kind === 'literal') out.push({ key, value: t.value });
    else if (t.kind === 'header') out.push({ key, header: t.name, ...(t.defaultValue !== undefined ? { defaultValue: t.defaultValue } : {}) });
    else {
      const v = env[t.name] ?? t.defaultValue;
      if (v !== undefined) out.push({ key, value: v });
    }
  }
  return out;
}

function exporterFor(r: ResolvedTracing, serviceName: string, stats: SpanExportStats | undefined): SpanExporter {
  const batch = stats ? { stats } : {};
  if (r.kind === 'endpoint') return new OtlpHttpExporter({ endpoint: r.endpoint, serviceName, ...batch });
  const p = r.provider;
  if (p.protocol === 'grpc') {
    const opts = { address: `${p.service}:${p.port}`, serviceName, headers: p.headers, ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}) };
    // grpc-js and proto-loader load only when a gRPC collector is configured.
    return new SpanExporter(new DeferredSpanTransport(`grpc://${opts.address}`, async () => new (await import('./otlp-grpc-transport.js')).OtlpGrpcTransport(opts)), batch);
  }
  return new OtlpHttpExporter({
    endpoint: `http://${p.service}:${p.port}`,
    serviceName,
    headers: p.headers,
    ...(p.path !== undefined ? { path: p.path } : {}),
    ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}),
    ...batch,
  });
}

/** Same exporter settings (so a view change that does not touch tracing keeps the exporter). */
function exportKey(r: ResolvedTracing): string {
  return r.kind === 'endpoint' ? `endpoint ${r.endpoint}` : `provider ${JSON.stringify(r.provider)}`;
}

/**
 * Keeps `tracer` in line with the view. `serviceName` is the spans' `service.name`. Returns a
 * function that stops following and closes the current exporter (within `deadlineMs`).
 */
export function followTracingPolicy(
  view: ViewSource,
  waypoint: WaypointRef,
  tracer: WaypointTracer,
  flags: TracingFlags | undefined,
  serviceName: string,
  /** Running totals across the exporters this creates (exporter-health metrics). */
  stats?: SpanExportStats,
): (deadlineMs: number) => Promise<void> {
  let key: string | undefined;
  const apply = (snapshot: Snapshot): void => {
    const r = tracingFor(snapshot, waypoint, flags);
    const next = r ? exportKey(r) : undefined;
    const old = tracer.exporter;
    if (next === key) {
      if (r && old) tracer.configure({ exporter: old, samplingPercent: r.samplingPercent, customTags: r.customTags });
      return;
    }
    key = next;
    tracer.configure(r ? { exporter: exporterFor(r, serviceName, stats), samplingPercent: r.samplingPercent, customTags: r.customTags } : undefined);
    void old?.close(500);
  };
  apply(view.current().snapshot);
  const unsubscribe = view.onChange((v) => apply(v.snapshot));
  return async (deadlineMs) => {
    unsubscribe();
    const last = tracer.exporter;
    tracer.configure(undefined);
    await last?.close(deadlineMs);
  };
}
