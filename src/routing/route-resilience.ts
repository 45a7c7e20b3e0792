/**
 * The resilience parts of a route decision, compiled from the IR once per snapshot:
 *
 * - the retry policy of a rule, as Istio's `route/retry/retry.go` `ConvertPolicy` builds it: no
 *   `retries`/`retry` block → MeshConfig `defaultHttpRetryPolicy`, else Istio's default (2 retries on
 *   `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`, previous hosts
 *   avoided); `attempts: 0` → no retries; integers in `retryOn` are status codes and imply
 *   `retriable-status-codes`; `backoff` → `base_interval` (max 10 × base);
 * - the fault of a rule (VirtualService `fault`), percentages per million;
 * - the DestinationRule settings of a backend's cluster (`connectionPool`, `outlierDetection`):
 *   the subset's own for the port, else the subset's, else the rule-wide one for the port, else
 *   the rule-wide one — Istio's merge of subset and port-level traffic policies, per field group.
 */
import type { FaultPolicy } from '../../filters/fault/fault-filter.js';
import { GRPC_STATUS_CODES, perMillionOf } from '../../filters/fault/fault-filter.js';
import type { ConnectionPoolIR, DestinationRuleIR, OutlierDetectionIR, PortTrafficPolicyIR, RouteRetryIR, RouteRuleIR, SubsetIR } from '../config/ir-routes.js';
import { BACKOFF_MAX_FACTOR } from '../upstream/backoff.js';
import { breakerThresholds } from '../upstream/circuit-breaker.js';
import type { UpstreamPoolSettings } from '../upstream/http-client.js';
import { outlierSettings } from '../upstream/outlier-detector.js';
import type { BackendResilience, RetryCondition, RetryPolicy } from '../waypoint/router.js';
import { DEFAULT_BACKOFF } from '../waypoint/router.js';

const NO_CODES: readonly number[] = Object.freeze([]);
/** Istio's retry for a configured route: 2 attempts on connection-level failures (route/retry/retry.go). */
export const ISTIO_DEFAULT_RETRY_ON: readonly RetryCondition[] = Object.freeze([
  'connect-failure',
  'refused-stream',
  'unavailable',
  'cancelled',
  'retriable-status-codes',
] as const);
export const ISTIO_DEFAULT_RETRY: RetryPolicy = Object.freeze({
  numRetries: 2,
  retryOn: ISTIO_DEFAULT_RETRY_ON,
  perTryTimeoutMs: 0,
  retriableStatusCodes: NO_CODES,
  avoidPreviousHosts: true,
  ...DEFAULT_BACKOFF,
});
const NO_RETRY: RetryPolicy = Object.freeze({ ...ISTIO_DEFAULT_RETRY, numRetries: 0, retryOn: Object.freeze([]) });

export const KNOWN_RETRY_ON: ReadonlySet<string> = new Set<RetryCondition>([
  'reset-before-request', 'connect-failure', 'refused-stream', 'reset', '5xx', 'gateway-error', 'retriable-4xx',
  'retriable-status-codes', 'retriable-headers', 'unavailable', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted',
]);

/**
 * The retry of a rule: its own `retry`/`retries`, else the mesh's `defaultHttpRetryPolicy`, else
 * Istio's default. A `backendRequest` timeout bounds each try when the policy sets none.
 */
export function retryPolicyOf(rule: RouteRuleIR, meshDefault?: RouteRetryIR): RetryPolicy {
  const r = rule.retry ?? meshDefault;
  const policy = r ? compileRetry(r) : ISTIO_DEFAULT_RETRY;
  if (rule.backendTimeoutMs === undefined || (r?.perTryTimeoutMs !== undefined && r.attempts > 0)) return policy;
  return Object.freeze({ ...policy, perTryTimeoutMs: rule.backendTimeoutMs });
}

/** The retry of a route that has none (the waypoint's default route): the mesh's default, else Istio's. */
export function meshDefaultRetryPolicy(meshDefault: RouteRetryIR | undefined): RetryPolicy {
  return meshDefault ? compileRetry(meshDefault) : ISTIO_DEFAULT_RETRY;
}

const COMPILED = new WeakMap<RouteRetryIR, RetryPolicy>();

/** Istio's `ConvertPolicy`: compiled once per IR object (the mesh default is shared by every route). */
function compileRetry(r: RouteRetryIR): RetryPolicy {
  let p = COMPILED.get(r);
  if (p) return p;
  // Istio: "attempts 0 explicitly disables the retry policy".
  if (r.attempts <= 0) p = NO_RETRY;
  else {
    const retryOn = r.retryOn.filter((x): x is RetryCondition => KNOWN_RETRY_ON.has(x));
    const base = retryOn.length > 0 || r.codes.length > 0 ? retryOn : [...ISTIO_DEFAULT_RETRY_ON];
    if (r.codes.length > 0 && !base.includes('retriable-status-codes')) base.push('retriable-status-codes');
    const backoffBaseMs = r.backoffMs !== undefined && r.backoffMs > 0 ? r.backoffMs : DEFAULT_BACKOFF.backoffBaseMs;
    p = Object.freeze({
      numRetries: r.attempts,
      retryOn: Object.freeze(base),
      perTryTimeoutMs: r.perTryTimeoutMs ?? 0,
      retriableStatusCodes: Object.freeze([...r.codes]),
      avoidPreviousHosts: r.ignorePreviousHosts ?? true,
      backoffBaseMs,
      backoffMaxMs: backoffBaseMs * BACKOFF_MAX_FACTOR,
    });
  }
  COMPILED.set(r, p);
  return p;
}

export function faultPolicyOf(rule: RouteRuleIR): FaultPolicy | undefined {
  const f = rule.fault;
  if (!f || (!f.delay && !f.abort)) return undefined;
  const delay = f.delay ? { ms: f.delay.fixedDelayMs, perMillion: perMillionOf(f.delay.percent) } : undefined;
  let abort: FaultPolicy['abort'];
  if (f.abort) {
    const grpc = f.abort.grpcStatus !== undefined ? GRPC_STATUS_CODES[f.abort.grpcStatus] : undefined;
    // Envoy: an HTTP status wins; a gRPC abort is an HTTP 200 carrying the gRPC status.
    abort =
      f.abort.httpStatus !== undefined
        ? { httpStatus: f.abort.httpStatus, perMillion: perMillionOf(f.abort.percent) }
        : { httpStatus: 200, ...(grpc !== undefined ? { grpcStatus: grpc } : {}), perMillion: perMillionOf(f.abort.percent) };
  }
  return Object.freeze({ ...(delay ? { delay } : {}), ...(abort ? { abort } : {}) });
}

interface PolicyParts {
  readonly connectionPool?: ConnectionPoolIR;
  readonly outlierDetection?: OutlierDetectionIR;
  readonly portLevelSettings?: readonly PortTrafficPolicyIR[];
}

function pick<K extends 'connectionPool' | 'outlierDetection'>(key: K, port: number, ...policies: (PolicyParts | undefined)[]): PolicyParts[K] {
  for (const p of policies) {
    if (!p) continue;
    const own = p.portLevelSettings?.find((s) => s.port === port)?.[key];
    if (own) return own;
    if (p[key]) return p[key];
  }
  return undefined;
}

/** A backend cluster's breaker, outlier and pool settings; `undefined` when its DestinationRule sets none. */
export function backendResilienceOf(dr: DestinationRuleIR | undefined, subset: SubsetIR | undefined, port: number): BackendResilience | undefined {
  if (!dr) return undefined;
  const pool = pick('connectionPool', port, subset, dr);
  const od = pick('outlierDetection', port, subset, dr);
  if (!pool && !od) return undefined;
  const poolSettings: UpstreamPoolSettings | undefined = pool
    ? Object.freeze({
        ...(pool.tcp?.maxConnections ? { maxConnections: pool.tcp.maxConnections } : {}),
        ...(pool.http?.maxRequestsPerConnection ? { maxRequestsPerConnection: pool.http.maxRequestsPerConnection } : {}),
        ...(pool.http?.idleTimeoutMs ? { idleTimeoutMs: pool.http.idleTimeoutMs } : {}),
      })
    : undefined;
  return Object.freeze({
    ...(pool ? { breaker: breakerThresholds(pool) } : {}),
    ...(od ? { outlier: outlierSettings(od) } : {}),
    ...(poolSettings && Object.keys(poolSettings).length > 0 ? { pool: poolSettings } : {}),
  });
}
