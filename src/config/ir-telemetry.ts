/**
 * The telemetry IR: Telemetry API (`telemetry.istio.io/v1 Telemetry`) objects as the waypoint
 * uses them, and the access-log providers of the mesh config they name. Only `accessLogging` is
 * carried (disabled or not, and through which provider); metrics and tracing overrides are not
 * translated yet. Kept apart from `ir.ts` so telemetry reads as one unit.
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
  readonly origin: Origin;
}
