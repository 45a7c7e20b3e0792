/**
 * `networking.istio.io/v1 DestinationRule` → {@link DestinationRuleIR}: the Service its `host`
 * names, `subsets` (name + labels selecting endpoints, per-subset load balancer) and
 * `trafficPolicy.loadBalancer.simple` or `consistentHash`. `connectionPool`, `outlierDetection`,
 * `tls` and `portLevelSettings` are accepted but not applied yet (warning `UNSUPPORTED`).
 */
import type { ConsistentHashIR, DestinationRuleIR, HashKeyIR, LoadBalancerIR, SubsetIR } from '../ir-routes.js';
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
const NOT_APPLIED = ['connectionPool', 'outlierDetection', 'tls', 'portLevelSettings'] as const;

export const destinationRuleTranslator: Translator = {
  kind: 'DestinationRule',
  apiVersions: ISTIO_NETWORKING_VERSIONS,
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const host = r.string(['spec', 'host'], { required: true });
    const service = host !== undefined ? serviceOfHost(host, namespace) : undefined;
    if (host !== undefined && !service) r.error(['spec', 'host'], 'UNSUPPORTED', `${JSON.stringify(host)} does not name a mesh Service`);
    const loadBalancer = readTrafficPolicy(r, ['spec', 'trafficPolicy']);
    const consistentHash = readConsistentHash(r, ['spec', 'trafficPolicy', 'loadBalancer', 'consistentHash']);
    const subsets: SubsetIR[] = [];
    const names = new Set<string>();
    r.list(['spec', 'subsets']).forEach((_, i) => {
      const base = ['spec', 'subsets', i];
      const name = r.string([...base, 'name'], { required: true });
      const labels = r.stringMap([...base, 'labels']);
      const lb = readTrafficPolicy(r, [...base, 'trafficPolicy']);
      const hash = readConsistentHash(r, [...base, 'trafficPolicy', 'loadBalancer', 'consistentHash']);
      if (name === undefined) return;
      if (names.has(name)) r.error([...base, 'name'], 'FIELD_INVALID', `subset ${JSON.stringify(name)} is defined twice`);
      names.add(name);
      subsets.push({ name, labels, ...(lb ? { loadBalancer: lb } : {}), ...(hash ? { consistentHash: hash } : {}) });
    });
    if (r.failed || !service) return undefined;
    const value: DestinationRuleIR = {
      name: r.id.name,
      namespace,
      service,
      subsets,
      ...(loadBalancer ? { loadBalancer } : {}),
      ...(consistentHash ? { consistentHash } : {}),
      origin: r.origin,
    };
    return { type: 'DestinationRule', value };
  },
};

function readTrafficPolicy(r: ObjectReader, base: FieldPath): LoadBalancerIR | undefined {
  if (r.record(base) === undefined) return undefined;
  for (const f of NOT_APPLIED) {
    if (r.has([...base, f])) r.warn([...base, f], 'UNSUPPORTED', `${f} is parsed but not applied yet`);
  }
  const simple = r.string([...base, 'loadBalancer', 'simple']);
  if (simple === undefined) return undefined;
  if (!SIMPLE.has(simple)) {
    r.error([...base, 'loadBalancer', 'simple'], 'FIELD_INVALID', `must be LEAST_REQUEST, ROUND_ROBIN, RANDOM or PASSTHROUGH, got ${JSON.stringify(simple)}`);
    return undefined;
  }
  return simple as LoadBalancerIR;
}
