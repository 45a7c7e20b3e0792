/**
 * `discovery.k8s.io/v1 EndpointSlice` → the endpoints of a Service that has no pod selector (its
 * endpoints are managed by hand or by another controller: an external database, a ServiceEntry-like
 * Service, a headless Service fronting addresses outside the cluster's pods). A Service with a
 * selector takes its endpoints from the Pods it selects, as before; slices are read only to fill the
 * gap pods cannot. Joined to their Service by the `kubernetes.io/service-name` label, in the same
 * namespace; slice ports match Service ports by name (the EndpointSlice controller's rule).
 * Addresses whose `conditions.ready` is false are left out; a missing condition counts as ready.
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { StaticEndpointIR } from '../ir.js';
import { isRecord } from './object-reader.js';
import type { ServiceDraft } from './translator.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SliceEndpoints {
  readonly namespace: string;
  readonly service: string;
  /** Port name (`''` for an unnamed port) → endpoint port. */
  readonly ports: ReadonlyMap<string, number>;
  readonly addresses: readonly string[];
}

/** The parts of an EndpointSlice object this needs; undefined when it names no Service. */
export function readEndpointSlice(raw: unknown): SliceEndpoints | undefined {
  if (!isRecord(raw) || !isRecord(raw['metadata'])) return undefined;
  const meta = raw['metadata'];
  const labels = isRecord(meta['labels']) ? meta['labels'] : {};
  const service = labels[SERVICE_NAME_LABEL];
  const namespace = meta['namespace'];
  if (typeof service !== 'string' || typeof namespace !== 'string') return undefined;
  const ports = new Map<string, number>();
  for (const p of Array.isArray(raw['ports']) ? (raw['ports'] as unknown[]) : []) {
    if (!isRecord(p) || typeof p['port'] !== 'number') continue;
    if (p['protocol'] !== undefined && p['protocol'] !== 'TCP') continue;
    ports.set(typeof p['name'] === 'string' ? p['name'] : '', p['port']);
  }
  const addresses: string[] = [];
  for (const e of Array.isArray(raw['endpoints']) ? (raw['endpoints'] as unknown[]) : []) {
    if (!isRecord(e)) continue;
    const conditions = isRecord(e['conditions']) ? e['conditions'] : {};
    if (conditions['ready'] === false) continue;
    for (const a of Array.isArray(e['addresses']) ? (e['addresses'] as unknown[]) : []) if (typeof a === 'string' && isIP(a) !== 0) addresses.push(a);
  }
  return { namespace, service, ports, addresses };
}

/** The Service with its slices' endpoints, when it has no selector and slices name it; else as is. */
export function withSliceEndpoints(service: ServiceDraft, slices: readonly SliceEndpoints[]): ServiceDraft {
  if (service.selector !== undefined || service.staticEndpoints !== undefined) return service;
  const mine = slices.filter((s) => s.namespace === service.namespace && s.service === service.name);
  if (mine.length === 0) return service;
  const endpoints: StaticEndpointIR[] = [];
  for (const s of mine) {
    for (const sp of service.ports) {
      const port = s.ports.get(sp.name ?? '');
      if (port === undefined) continue;
      for (const ip of s.addresses) endpoints.push({ ip, port, servicePort: sp.port });
    }
  }
  return { ...service, staticEndpoints: endpoints };
}
