/**
 * MeshConfig `defaultHttpRetryPolicy` (an Istio `HTTPRetry`): the retry of every HTTP route that
 * sets none — the waypoint's default route for a service (Istio 1.31, istio/istio#60683: the
 * waypoint's inbound route is built like a sidecar's outbound route) and VirtualService/HTTPRoute
 * rules without `retries`/`retry`. Absent: Istio's default (2 retries on
 * `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`, previous hosts
 * avoided). `attempts: 0` turns the default retry off.
 */
import { parseDuration } from './from-k8s/duration.js';
import type { RouteRetryIR } from './ir-routes.js';

export interface MeshRetryProblem {
  readonly field: string;
  readonly message: string;
}

const STATUS_CODE = /^[1-5]\d\d$/;
const FIELD = 'defaultHttpRetryPolicy';

/** Parses the `defaultHttpRetryPolicy` value; problems reject only this setting. */
export function parseMeshRetryPolicy(v: unknown, problems: MeshRetryProblem[]): RouteRetryIR | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    problems.push({ field: FIELD, message: 'must be a mapping (an HTTPRetry)' });
    return undefined;
  }
  const rec = v as Record<string, unknown>;
  const before = problems.length;
  const attempts = rec['attempts'] ?? 0;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0) problems.push({ field: `${FIELD}.attempts`, message: `must be a non-negative integer, got ${JSON.stringify(attempts)}` });
  const duration = (key: string): number | undefined => {
    const d = rec[key];
    if (d === undefined || d === null) return undefined;
    const ms = typeof d === 'string' ? parseDuration(d) : undefined;
    if (ms === undefined) problems.push({ field: `${FIELD}.${key}`, message: `must be a duration like "2s", got ${JSON.stringify(d)}` });
    return ms;
  };
  const perTryTimeoutMs = duration('perTryTimeout');
  const backoffMs = duration('backoff');
  const retryOnText = rec['retryOn'] ?? '';
  if (typeof retryOnText !== 'string') problems.push({ field: `${FIELD}.retryOn`, message: 'must be a comma-separated string' });
  const tokens = (typeof retryOnText === 'string' ? retryOnText : '').split(',').map((t) => t.trim()).filter((t) => t !== '');
  const ignore = rec['retryIgnorePreviousHosts'];
  if (ignore !== undefined && ignore !== null && typeof ignore !== 'boolean') problems.push({ field: `${FIELD}.retryIgnorePreviousHosts`, message: 'must be true or false' });
  if (problems.length > before) return undefined;
  return Object.freeze({
    attempts: attempts as number,
    retryOn: Object.freeze(tokens.filter((t) => !STATUS_CODE.test(t))),
    codes: Object.freeze(tokens.filter((t) => STATUS_CODE.test(t)).map(Number)),
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
    ...(backoffMs !== undefined && backoffMs > 0 ? { backoffMs } : {}),
    ...(typeof ignore === 'boolean' ? { ignorePreviousHosts: ignore } : {}),
  });
}
