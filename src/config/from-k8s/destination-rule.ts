/**
 * `networking.istio.io/v1 DestinationRule` → {@link DestinationRuleIR}: the Service its `host`
 * names, `subsets` (name + labels selecting endpoints, per-subset load balancer) and
 * `trafficPolicy.loadBalancer.simple` or `consistentHash`, `portLevelSettings` (per port; their
 * load balancer is applied). `connectionPool` and `outlierDetection` are validated into the IR
 * (`destination-rule-policy.ts`) and applied as circuit breakers and outlier detection; `tls`, `tunnel`, `proxyProtocol` →
 * warning `UNSUPPORTED`.
 */
import type {
  ConnectionPoolIR,
  ConsistentHashIR,
  DestinationRuleIR,
  HashKeyIR,
  LoadBalancerIR,
  OutlierDetectionIR,
  PortTrafficPolicyIR,
  SubsetIR,
} from '../ir-routes.js';
import { readConnectionPool, readOutlierDetection } from './destination-rule-policy.js';
import { ISTIO_NETWORKING_VERSIONS } from './virtual-service.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { serviceOfHost } from './service-host.js';
import type { Translator } from './translator.js';

/**
 * `consistentHash`: one of `httpHeaderName`, `httpCookie.name`, `useSourceIp`,
 * `httpQueryParameterName`; `ringHash.minimumRingSize` or `maglev` (default ring hash, 1024).
 * A cookie is only read, never generated (`httpCookie.ttl` is ignored, with a warning).
 */
function readConsistentHash(r: ObjectReader, base: FieldPath): ConsistentHashIR | undefined {
  if (r.record(base) === undefined) return undefined;
  const keys: HashKeyIR[] = [];
  const header = r.string([...base, 'httpHeaderName']);
  if (header !== undefined) keys.push({ kind: 'header', name: header.toLowerCase() });
  const cookie = r.string([...base, 'httpCookie', 'name']);
  if (cookie !== undefined) keys.push({ kind: 'cookie', name: cookie });
  if (r.has([...base, 'httpCookie', 'ttl'])) r.warn([...base, 'httpCookie', 'ttl'], 'UNSUPPORTED', 'cookies are hashed when present but never generated');
  if (r.boolean([...base, 'useSourceIp']) === true) keys.push({ kind: 'sourceIp' });
  const query = r.string([...base, 'httpQueryParameterName']);
  if (query !== undefined) keys.push({ kind: 'queryParameter', name: query });
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) {
    r.error(base, 'FIELD_INVALID', 'set exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName');
    return undefined;
  }
  const maglev = r.has([...base, 'maglev']);
  const minimumRingSize = r.integer([...base, 'ringHash', 'minimumRingSize'], { min: 1, max: 8_388_608 }) ?? r.integer([...base, 'minimumRingSize'], { min: 1 }) ?? 1024;
  return { key, algorithm: maglev ? 'maglev' : 'ringHash', minimumRingSize };
}

const SIMPLE: ReadonlySet<string> = new Set<LoadBalancerIR>(['LEAST_REQUEST', 'ROUND_ROBIN', 'RANDOM', 'PASSTHROUGH']);
const NOT_APPLIED = ['tls', 'tunnel', 'proxyProtocol'] as const;

/** The parts of a traffic policy (top-level, subset or one port) the IR carries. */
interface PolicyFields {
  readonly loadBalancer?: LoadBalancerIR;
  readonly consistentHash?: ConsistentHashIR;
  readonly connectionPool?: ConnectionPoolIR;
  readonly outlierDetection?: OutlierDetectionIR;
  readonly portLevelSettings?: readonly PortTrafficPolicyIR[];
}

/** `trafficPolicy` (or one `portLevelSettings` entry when `ports` is false). */
function readPolicy(r: ObjectReader, base: FieldPath, ports: boolean): PolicyFields {
  const loadBalancer = readTrafficPolicy(r, base);
  const consistentHash = readConsistentHash(r, [...base, 'loadBalancer', 'consistentHash']);
  const connectionPool = readConnectionPool(r, [...base, 'connectionPool']);
  const outlierDetection = readOutlierDetection(r, [...base, 'outlierDetection']);
  const portLevelSettings = ports ? readPortLevelSettings(r, [...base, 'portLevelSettings']) : undefined;
  return {
    ...(loadBalancer ? { loadBalancer } : {}),
    ...(consistentHash ? { consistentHash } : {}),
    ...(connectionPool ? { connectionPool } : {}),
    ...(outlierDetection ? { outlierDetection } : {}),
    ...(portLevelSettings && portLevelSettings.length > 0 ? { portLevelSettings } : {}),
  };
}

/** `portLevelSettings[]`: `port.number` (once each) with its own loadBalancer, connectionPool, outlierDetection. */
function readPortLevelSettings(r: ObjectReader, base: FieldPath): PortTrafficPolicyIR[] {
  const out: PortTrafficPolicyIR[] = [];
  const seen = new Set<number>();
  r.list(base).forEach((_, i) => {
    const p = [...base, i];
    const port = r.port([...p, 'port', 'number']);
    const fields = readPolicy(r, p, false);
    if (port === undefined) return;
    if (seen.has(port)) r.error([...p, 'port', 'number'], 'FIELD_INVALID', `port ${port} has settings twice`);
    seen.add(port);
    out.push({ port, ...fields });
  });
  return out;
}

export const destinationRuleTranslator: Translator = {
  kind: 'DestinationRule',
  apiVersions: ISTIO_NETWORKING_VERSIONS,
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const host = r.string(['spec', 'host'], { required: true });
    const service = host !== undefined ? serviceOfHost(host, namespace) : undefined;
    if (host !== undefined && !service) r.error(['spec', 'host'], 'UNSUPPORTED', `${JSON.stringify(host)} does not name a mesh Service`);
    const top = readPolicy(r, ['spec', 'trafficPolicy'], true);
    const subsets: SubsetIR[] = [];
    const names = new Set<string>();
    r.list(['spec', 'subsets']).forEach((_, i) => {
      const base = ['spec', 'subsets', i];
      const name = r.string([...base, 'name'], { required: true });
      const labels = r.stringMap([...base, 'labels']);
      const policy = readPolicy(r, [...base, 'trafficPolicy'], true);
      if (name === undefined) return;
      if (names.has(name)) r.error([...base, 'name'], 'FIELD_INVALID', `subset ${JSON.stringify(name)} is defined twice`);
      names.add(name);
      subsets.push({ name, labels, ...policy });
    });
    if (r.failed || !service) return undefined;
    const value: DestinationRuleIR = {
      name: r.id.name,
      namespace,
      service,
      subsets,
      ...top,
      origin: r.origin,
    };
    return { type: 'DestinationRule', value };
  },
};

function readTrafficPolicy(r: ObjectReader, base: FieldPath): LoadBalancerIR | undefined {
  if (r.record(base) === undefined) return undefined;
  for (const f of NOT_APPLIED) {
    if (r.has([...base, f])) r.warn([...base, f], 'UNSUPPORTED', `${f} is not applied (the waypoint's upstream is always HBONE mTLS)`);
  }
  const simple = r.string([...base, 'loadBalancer', 'simple']);
  if (simple === undefined) return undefined;
  if (!SIMPLE.has(simple)) {
    r.error([...base, 'loadBalancer', 'simple'], 'FIELD_INVALID', `must be LEAST_REQUEST, ROUND_ROBIN, RANDOM or PASSTHROUGH, got ${JSON.stringify(simple)}`);
    return undefined;
  }
  return simple as LoadBalancerIR;
}
