/**
 * The IR of Wasm extensions: Istio `WasmPlugin` and its successor `TrafficExtension` (`wasm`
 * form), both extensions.istio.io/v1alpha1, attached to waypoints by `targetRefs`. Plain immutable data; the waypoint's Wasm runtime (`src/wasm/`)
 * fetches, compiles and places plugins from it per view.
 */
import type { Origin } from './ir.js';
import type { PolicyTargetIR } from './ir-security.js';

/** `spec.phase`: where in the chain (src/filter/phases.ts WASM_*). */
export type WasmPhaseIR = 'AUTHN' | 'AUTHZ' | 'STATS' | 'UNSPECIFIED';

/** `spec.match[]`: a plugin applies when any selector matches (empty list: always). */
export interface WasmMatchIR {
  /** Traffic direction; a waypoint serves Istio's inbound (SERVER) class. */
  readonly mode: 'CLIENT' | 'SERVER' | 'CLIENT_AND_SERVER';
  /** Destination (service) ports; empty: any. */
  readonly ports: readonly number[];
}

export interface WasmPluginIR {
  readonly name: string;
  readonly namespace: string;
  /** The object kind it came from (absent: WasmPlugin); both run the same way. */
  readonly kind?: 'WasmPlugin' | 'TrafficExtension';
  readonly targets: readonly PolicyTargetIR[];
  /** `file:///abs/path` (relative paths resolved against the YAML file), `http(s)://`, `oci://`. */
  readonly url: string;
  /** Expected sha256 of the module (hex), checked for every scheme when set. */
  readonly sha256?: string;
  readonly imagePullPolicy: 'IfNotPresent' | 'Always';
  readonly phase: WasmPhaseIR;
  /** Higher runs first within a phase; ties by name, then namespace. */
  readonly priority: number;
  /** `spec.pluginName`: the plugin's root id (may be empty). */
  readonly pluginName: string;
  /** JSON text of `spec.pluginConfig` ('' when unset), the PLUGIN_CONFIGURATION buffer. */
  readonly pluginConfig: string;
  /** `vmConfig.env` entries with INLINE values. */
  readonly env: Readonly<Record<string, string>>;
  /** `vmConfig.env` entries with `valueFrom: HOST`: copied from the proxy's environment. */
  readonly hostEnvKeys: readonly string[];
  readonly match: readonly WasmMatchIR[];
  readonly failStrategy: 'FAIL_CLOSE' | 'FAIL_OPEN';
  readonly origin: Origin;
}
