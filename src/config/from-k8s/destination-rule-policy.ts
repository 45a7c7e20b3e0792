/**
 * DestinationRule `trafficPolicy.connectionPool` and `outlierDetection` → IR, validated as
 * istiod does (pilot/pkg/model validation: counts ≥ 0, durations ≥ 1 ms, percentages 0–100,
 * `h2UpgradePolicy` one of its enum). Applied by the waypoint's circuit breakers and outlier
 * detection (`src/upstream/`); the fields it does not apply are listed in docs/resilience.md.
 */
import type { ConnectionPoolIR, OutlierDetectionIR } from '../ir-routes.js';
import { readDuration } from './duration.js';
import type { FieldPath, ObjectReader } from './object-reader.js';

const H2_UPGRADE = ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] as const;
type H2Upgrade = (typeof H2_UPGRADE)[number];

/** A duration that must be at least 1 ms when set. */
function positiveDuration(r: ObjectReader, path: FieldPath): number | undefined {
  const ms = readDuration(r, path);
  if (ms !== undefined && ms < 1) r.error(path, 'FIELD_INVALID', 'must be at least 1ms');
  return ms;
}

function count(r: ObjectReader, path: FieldPath): number | undefined {
  return r.integer(path, { min: 0 });
}

function percent(r: ObjectReader, path: FieldPath): number | undefined {
  return r.integer(path, { min: 0, max: 100 });
}

/** Drops `undefined` values so the IR carries only what was written. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function readConnectionPool(r: ObjectReader, base: FieldPath): ConnectionPoolIR | undefined {
  if (r.record(base) === undefined) return undefined;
  let tcp: ConnectionPoolIR['tcp'];
  const t = [...base, 'tcp'];
  if (r.record(t) !== undefined) {
    const k = [...t, 'tcpKeepalive'];
    const keepalive = r.record(k) !== undefined ? defined({ probes: count(r, [...k, 'probes']), timeMs: positiveDuration(r, [...k, 'time']), intervalMs: positiveDuration(r, [...k, 'interval']) }) : undefined;
    tcp = defined({
      maxConnections: count(r, [...t, 'maxConnections']),
      connectTimeoutMs: positiveDuration(r, [...t, 'connectTimeout']),
      maxConnectionDurationMs: positiveDuration(r, [...t, 'maxConnectionDuration']),
      idleTimeoutMs: readDuration(r, [...t, 'idleTimeout']),
      tcpKeepalive: keepalive,
    });
  }
  let http: ConnectionPoolIR['http'];
  const h = [...base, 'http'];
  if (r.record(h) !== undefined) {
    const upgrade = r.string([...h, 'h2UpgradePolicy']);
    if (upgrade !== undefined && !(H2_UPGRADE as readonly string[]).includes(upgrade)) {
      r.error([...h, 'h2UpgradePolicy'], 'FIELD_INVALID', `must be DEFAULT, DO_NOT_UPGRADE or UPGRADE, got ${JSON.stringify(upgrade)}`);
    }
    http = defined({
      http1MaxPendingRequests: count(r, [...h, 'http1MaxPendingRequests']),
      http2MaxRequests: count(r, [...h, 'http2MaxRequests']),
      maxRequestsPerConnection: count(r, [...h, 'maxRequestsPerConnection']),
      maxRetries: count(r, [...h, 'maxRetries']),
      idleTimeoutMs: positiveDuration(r, [...h, 'idleTimeout']),
      h2UpgradePolicy: upgrade !== undefined && (H2_UPGRADE as readonly string[]).includes(upgrade) ? (upgrade as H2Upgrade) : undefined,
      useClientProtocol: r.boolean([...h, 'useClientProtocol']),
      maxConcurrentStreams: count(r, [...h, 'maxConcurrentStreams']),
    });
  }
  return defined({ tcp, http });
}

export function readOutlierDetection(r: ObjectReader, base: FieldPath): OutlierDetectionIR | undefined {
  if (r.record(base) === undefined) return undefined;
  if (r.has([...base, 'consecutiveErrors'])) r.warn([...base, 'consecutiveErrors'], 'UNSUPPORTED', 'removed from Istio; use consecutive5xxErrors or consecutiveGatewayErrors');
  return defined({
    consecutive5xxErrors: count(r, [...base, 'consecutive5xxErrors']),
    consecutiveGatewayErrors: count(r, [...base, 'consecutiveGatewayErrors']),
    consecutiveLocalOriginFailures: count(r, [...base, 'consecutiveLocalOriginFailures']),
    splitExternalLocalOriginErrors: r.boolean([...base, 'splitExternalLocalOriginErrors']),
    intervalMs: positiveDuration(r, [...base, 'interval']),
    baseEjectionTimeMs: positiveDuration(r, [...base, 'baseEjectionTime']),
    maxEjectionPercent: percent(r, [...base, 'maxEjectionPercent']),
    minHealthPercent: percent(r, [...base, 'minHealthPercent']),
  });
}
