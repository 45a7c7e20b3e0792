/**
 * Proxy-Wasm ABI 0.2.x constants (proxy-wasm/spec abi-versions/v0.2.1, and Envoy's behaviour where
 * the spec is silent; see docs/wasm.md). Plain numbers: they cross the Wasm boundary as i32.
 */

/** `proxy_status_t`. */
export const Status = Object.freeze({
  OK: 0,
  NOT_FOUND: 1,
  BAD_ARGUMENT: 2,
  SERIALIZATION_FAILURE: 3,
  PARSE_FAILURE: 4,
  INVALID_MEMORY_ACCESS: 6,
  EMPTY: 7,
  CAS_MISMATCH: 8,
  BROKEN_CONNECTION: 9,
  INTERNAL_FAILURE: 10,
  UNIMPLEMENTED: 12,
} as const);

/** Callback return values (`proxy_action_t`); Envoy's extra header/body statuses are all "stop". */
export const Action = Object.freeze({ CONTINUE: 0, PAUSE: 1 } as const);

export const MapType = Object.freeze({
  HTTP_REQUEST_HEADERS: 0,
  HTTP_REQUEST_TRAILERS: 1,
  HTTP_RESPONSE_HEADERS: 2,
  HTTP_RESPONSE_TRAILERS: 3,
  GRPC_CALL_INITIAL_METADATA: 4,
  GRPC_CALL_TRAILING_METADATA: 5,
  HTTP_CALL_RESPONSE_HEADERS: 6,
  HTTP_CALL_RESPONSE_TRAILERS: 7,
} as const);

export const BufferType = Object.freeze({
  HTTP_REQUEST_BODY: 0,
  HTTP_RESPONSE_BODY: 1,
  DOWNSTREAM_DATA: 2,
  UPSTREAM_DATA: 3,
  HTTP_CALL_RESPONSE_BODY: 4,
  GRPC_CALL_MESSAGE: 5,
  VM_CONFIGURATION: 6,
  PLUGIN_CONFIGURATION: 7,
  FOREIGN_FUNCTION_ARGUMENTS: 8,
} as const);

export const StreamType = Object.freeze({ HTTP_REQUEST: 0, HTTP_RESPONSE: 1, DOWNSTREAM: 2, UPSTREAM: 3 } as const);

export const MetricType = Object.freeze({ COUNTER: 0, GAUGE: 1, HISTOGRAM: 2 } as const);

/** Log levels, in the same order as the proxy's own (`trace` … `critical`). */
export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
export type PluginLogLevel = (typeof LOG_LEVEL_NAMES)[number];

/** WASI errno values the host returns. */
export const Errno = Object.freeze({ SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOSYS: 52, NOTSUP: 58 } as const);

/** ABI versions, from the exported marker function. 0.1.0 (2020-era builds) is rejected. */
export type AbiVersion = '0.2.0' | '0.2.1';

export const ABI_MARKERS: ReadonlyArray<readonly [string, AbiVersion | '0.1.0']> = [
  ['proxy_abi_version_0_2_1', '0.2.1'],
  ['proxy_abi_version_0_2_0', '0.2.0'],
  ['proxy_abi_version_0_1_0', '0.1.0'],
];

/** cpp-host limits on serialized maps (include/proxy-wasm/limits.h). */
export const MAX_MAP_PAIRS = 1024;
export const MAX_MAP_BYTES = 1024 * 1024;
/** cpp-host caps module memory at 1 GiB. */
export const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;
