/**
 * The telemetry IR: Telemetry API (`telemetry.istio.io/v1 Telemetry`) objects as the waypoint
 * uses them, and the access-log and tracing providers of the mesh config they name. Carried:
 * `accessLogging` (disabled or not, through which provider) and `tracing` (provider, sampling,
 * span reporting) and `metrics` (per-metric `disabled` and tag overrides for the Prometheus
 * provider). Kept apart from `ir.ts` so telemetry reads as one unit.
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

/** A `tracing[].customTags` value: a literal, an environment variable of the proxy, or a request header. */
export type CustomTagIR =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'environment'; readonly name: string; readonly defaultValue?: string }
  | { readonly kind: 'header'; readonly name: string; readonly defaultValue?: string };

/** One `spec.tracing[]` entry (the first that applies to the server side); unset fields inherit. */
export interface TracingIR {
  /** `providers[].name`; Istio uses the first. Empty = inherited (mesh `defaultProviders.tracing`). */
  readonly providers: readonly string[];
  readonly randomSamplingPercentage?: number;
  readonly disableSpanReporting?: boolean;
  /** Span attributes added to every span, by tag name; inherited as a whole when unset. */
  readonly customTags?: Readonly<Record<string, CustomTagIR>>;
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

/** Istio's standard metrics, by the Telemetry API's `MetricSelector.IstioMetric` names. */
export const ISTIO_METRIC_NAMES = [
  'REQUEST_COUNT',
  'REQUEST_DURATION',
  'REQUEST_SIZE',
  'RESPONSE_SIZE',
  'TCP_OPENED_CONNECTIONS',
  'TCP_CLOSED_CONNECTIONS',
  'TCP_SENT_BYTES',
  'TCP_RECEIVED_BYTES',
  'GRPC_REQUEST_MESSAGES',
  'GRPC_RESPONSE_MESSAGES',
] as const;
export type IstioMetricName = (typeof ISTIO_METRIC_NAMES)[number];

/**
 * A tag value expression, parsed at config time from the CEL subset the waypoint evaluates:
 * a string literal, an attribute (`request.host`, `request.headers['x-user']`...), or
 * `has(<attribute>) ? <expr> : <expr>`.
 */
export type TagValueIR =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'attribute'; readonly path: string; readonly key?: string }
  | { readonly kind: 'conditional'; readonly test: TagValueIR & { readonly kind: 'attribute' }; readonly then: TagValueIR; readonly else: TagValueIR };

/** One `tagOverrides` entry. */
export type TagOverrideIR = { readonly tag: string; readonly operation: 'REMOVE' } | { readonly tag: string; readonly operation: 'UPSERT'; readonly value: TagValueIR };

/** One `metrics[].overrides[]` entry that applies to the waypoint (server side). */
export interface MetricOverrideIR {
  /** Undefined: every metric (`ALL_METRICS`, the default). */
  readonly metric?: IstioMetricName;
  /**
   * `disabled` (default false). A matching override replaces what less specific ones said, so an
   * override without it re-enables a metric disabled above (Istio's behaviour since 1.23).
   */
  readonly disabled: boolean;
  readonly tagOverrides: readonly TagOverrideIR[];
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
  /**
   * The overrides of the `metrics[]` entries for the Prometheus provider, in order. Undefined when
   * the object has no `metrics` (inherit); an empty list still counts as set.
   */
  readonly metricOverrides?: readonly MetricOverrideIR[];
  readonly origin: Origin;
}
