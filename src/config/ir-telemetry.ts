/**
 * The telemetry IR: Telemetry API (`telemetry.istio.io/v1 Telemetry`) objects as the waypoint
 * uses them, and the access-log and tracing providers of the mesh config they name. Carried:
 * `accessLogging` (disabled or not, through which provider) and `tracing` (provider, sampling,
 * span reporting); metrics overrides are not translated yet. Kept apart from `ir.ts` so telemetry
 * reads as one unit.
 */
import type { Origin } from './ir.js';

/** How a provider prints: Istio's default text line, or its JSON object. */
export type AccessLogEncodingIR = 'text' | 'json';

/**
 * The built-in provider every Istio install defines: `envoy`, Envoy's file access log on stdout
 * in Istio's default text format.
 */
export const BUILTIN_ACCESS_LOG_PROVIDERS: Readonly<Record<string, AccessLogEncodingIR>> = Object.freeze({ envoy: 'text' });

/** One `spec.accessLogging[]` entry. */
export interface AccessLoggingIR {
  /** `disabled: true` turns access logs off at this scope. */
  readonly disabled: boolean;
  /** Provider names (`providers[].name`); empty = the mesh default (`envoy`). */
  readonly providers: readonly string[];
}

/** One `spec.tracing[]` entry (the first that applies to the server side); unset fields inherit. */
export interface TracingIR {
  /** `providers[].name`; Istio uses the first. Empty = inherited (mesh `defaultProviders.tracing`). */
  readonly providers: readonly string[];
  readonly randomSamplingPercentage?: number;
  readonly disableSpanReporting?: boolean;
}

/**
 * An `extensionProviders[].opentelemetry` entry: OTLP/gRPC to `service:port`, or OTLP/HTTP when
 * the provider has an `http` block (`path`, `timeout`, `headers`).
 */
export interface TracingProviderIR {
  readonly name: string;
  readonly service: string;
  readonly port: number;
  readonly protocol: 'grpc' | 'http';
  /** OTLP/HTTP path; default `/v1/traces`. */
  readonly path?: string;
  readonly timeoutMs?: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** The mesh config's tracing settings. */
export interface MeshTracingIR {
  readonly providers: Readonly<Record<string, TracingProviderIR>>;
  /** `defaultProviders.tracing`. */
  readonly defaultProviders: readonly string[];
  /** `enableTracing` (Istio's default true): with no Telemetry tracing, off means no spans. */
  readonly enabled: boolean;
  /** `defaultConfig.tracing.sampling` (percent); Istio's default is 1. */
  readonly samplingPercent?: number;
}

/** What a Telemetry object attaches to. */
export type TelemetryTargetIR =
  /** `targetRefs` to a waypoint Gateway in the object's namespace. */
  | { readonly kind: 'Gateway'; readonly name: string }
  /** No targetRefs/selector: its namespace (the whole mesh when that is the root namespace). */
  | { readonly kind: 'Namespace' };

export interface TelemetryIR {
  readonly name: string;
  readonly namespace: string;
  readonly targets: readonly TelemetryTargetIR[];
  /** The first `accessLogging` entry (Istio applies one per mode; the waypoint is SERVER only). */
  readonly accessLogging?: AccessLoggingIR;
  readonly tracing?: TracingIR;
  readonly origin: Origin;
}
