import type {
  L4PolicyIR,
  ServiceIR,
  ServicePortIR,
  Snapshot,
  WaypointIR,
  WaypointRef,
  WorkloadIR,
} from '../config/ir.js';
import { objectKey } from '../config/ir.js';

/** One endpoint of a service port: a workload and the port its app listens on. */
export interface Endpoint {
  readonly workload: WorkloadIR;
  readonly targetPort: number;
}

/** One entry of a Service's weighted waypoint set: the share of new connections it takes. */
export interface WeightedWaypoint {
  readonly waypoint: WaypointIR;
  /** 0–100; the set's weights add up to 100. */
  readonly weight: number;
  readonly role: 'primary' | 'canary';
}

/** A Service port resolved from a CONNECT target or a SOCKS5 request. */
export interface ServiceTarget {
  readonly service: ServiceIR;
  readonly port: ServicePortIR;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A snapshot plus the lookups the data path needs, all computed once when the snapshot is built.
 * Every method is a map read: nothing here allocates per call beyond the result.
 */
export class MeshView {
  private readonly workloadsByIp = new Map<string, WorkloadIR>();
  private readonly servicesByVip = new Map<string, ServiceIR>();
  private readonly servicesByHost = new Map<string, ServiceIR>();
  private readonly endpointsByServicePort = new Map<string, readonly Endpoint[]>();
  private readonly waypointsByAddress = new Map<string, WaypointIR>();
  private readonly waypointDialAddresses = new Map<WaypointIR, readonly string[]>();
  private readonly workloadsByNode = new Map<string, WorkloadIR[]>();
  private readonly servicesByWaypoint = new Map<string, ServiceIR[]>();
  /** Per Service: its weighted waypoint set, or null when it has none usable. */
  private readonly weightedSets = new Map<ServiceIR, readonly WeightedWaypoint[] | null>();

  constructor(readonly snapshot: Snapshot) {
    for (const w of snapshot.workloads.values()) {
      this.workloadsByIp.set(w.ip, w);
      let onNode = this.workloadsByNode.get(w.node);
      if (!onNode) this.workloadsByNode.set(w.node, (onNode = []));
      onNode.push(w);
    }
    for (const s of snapshot.services.values()) {
      for (const vip of s.vips) this.servicesByVip.set(vip, s);
      this.servicesByHost.set(s.hostname, s);
      for (const p of s.ports) {
        this.endpointsByServicePort.set(endpointKey(s, p.port), Object.freeze(this.computeEndpoints(s, p)));
      }
      // A canary fronts the Service too: it must accept and route the connections sent to it.
      for (const ref of [s.waypoint, s.waypointCanary?.waypoint]) {
        if (!ref) continue;
        const k = objectKey(ref.namespace, ref.name);
        let list = this.servicesByWaypoint.get(k);
        if (!list) this.servicesByWaypoint.set(k, (list = []));
        list.push(s);
      }
    }
    // After the services: a waypoint known only by the host name of its Service is reached at
    // that Service's endpoints.
    for (const wp of snapshot.waypoints.values()) {
      const addresses = this.resolveWaypoint(wp);
      this.waypointDialAddresses.set(wp, addresses);
      for (const a of addresses) this.waypointsByAddress.set(a, wp);
    }
  }

  get generation(): number {
    return this.snapshot.generation;
  }

  workloadByIp(ip: string): WorkloadIR | undefined {
    return this.workloadsByIp.get(ip);
  }

  workloadsOnNode(node: string): readonly WorkloadIR[] {
    return this.workloadsByNode.get(node) ?? EMPTY;
  }

  serviceByVip(ip: string): ServiceIR | undefined {
    return this.servicesByVip.get(ip);
  }

  /**
   * Resolves a host name the way a pod's resolver would in the source namespace: the full
   * `name.ns.svc.<domain>`, `name.ns.svc`, `name.ns`, or a bare `name` in `sourceNamespace`.
   */
  serviceByHostname(host: string, sourceNamespace?: string): ServiceIR | undefined {
    const h = host.endsWith('.') ? host.slice(0, -1) : host;
    const exact = this.servicesByHost.get(h);
    if (exact) return exact;
    const parts = h.split('.');
    const domain = this.snapshot.mesh.clusterDomain;
    if (parts.length === 1 && sourceNamespace) return this.servicesByHost.get(`${h}.${sourceNamespace}.svc.${domain}`);
    if (parts.length === 2) return this.servicesByHost.get(`${h}.svc.${domain}`);
    if (parts.length === 3 && parts[2] === 'svc') return this.servicesByHost.get(`${h}.${domain}`);
    return undefined;
  }

  /** A Service port by VIP or host name and service port number. */
  serviceTarget(host: string, port: number, isIp: boolean, sourceNamespace?: string): ServiceTarget | undefined {
    const service = isIp ? this.serviceByVip(host) : this.serviceByHostname(host, sourceNamespace);
    if (!service) return undefined;
    const p = service.ports.find((sp) => sp.port === port);
    return p ? { service, port: p } : undefined;
  }

  /** Endpoints of a service port, in snapshot order. Empty when none are ready. */
  endpoints(service: ServiceIR, port: number): readonly Endpoint[] {
    return this.endpointsByServicePort.get(endpointKey(service, port)) ?? EMPTY;
  }

  /** The waypoint a Service is bound to, if it exists and takes service traffic. */
  waypointOf(service: ServiceIR): WaypointIR | undefined {
    if (!service.waypoint) return undefined;
    const wp = this.snapshot.waypoints.get(objectKey(service.waypoint.namespace, service.waypoint.name));
    if (!wp || wp.waypointFor === 'none' || wp.waypointFor === 'workload') return undefined;
    return wp;
  }

  /**
   * The Service's weighted waypoint set (Istio 1.31 canary): `[primary, canary]` with the canary's
   * weight and the rest on the primary; undefined when there is no usable canary (then
   * {@link waypointOf} alone applies). Computed once per view.
   */
  weightedWaypoints(service: ServiceIR): readonly WeightedWaypoint[] | undefined {
    if (!service.waypointCanary) return undefined;
    let set = this.weightedSets.get(service);
    if (set === undefined) {
      const primary = this.waypointOf(service);
      const c = service.waypointCanary;
      const canary = this.snapshot.waypoints.get(objectKey(c.waypoint.namespace, c.waypoint.name));
      set =
        primary && canary && (canary.waypointFor === 'service' || canary.waypointFor === 'all')
          ? Object.freeze([
              Object.freeze({ waypoint: primary, weight: 100 - c.weight, role: 'primary' as const }),
              Object.freeze({ waypoint: canary, weight: c.weight, role: 'canary' as const }),
            ])
          : null;
      this.weightedSets.set(service, set);
    }
    return set ?? undefined;
  }

  /**
   * The waypoint whose Gateway-attached config (policies, WasmPlugins, routes) applies to the
   * Service at the waypoint `self`: `self` when it fronts the Service (primary or canary: Istio
   * applies Gateway-attached config only at that Gateway), else the primary.
   */
  servingWaypoint(service: ServiceIR, self: WaypointRef | undefined): WaypointIR | undefined {
    if (self && this.frontedBy(service, self)) return this.snapshot.waypoints.get(objectKey(self.namespace, self.name));
    return this.waypointOf(service);
  }

  /** True when the waypoint `ref` fronts the Service, as its primary or as its canary. */
  frontedBy(service: ServiceIR, ref: WaypointRef): boolean {
    const same = (w: WaypointRef | undefined): boolean => w !== undefined && w.namespace === ref.namespace && w.name === ref.name;
    if (same(this.waypointOf(service))) return true;
    return (this.weightedWaypoints(service) ?? []).some((w) => w.role === 'canary' && same(w.waypoint));
  }

  /**
   * Where a ztunnel dials a waypoint: its IP addresses; for a Gateway with only `Hostname`
   * addresses (a cluster waypoint: `waypoint.ns.svc.cluster.local`), the ready endpoints of that
   * Service's HBONE port, then its VIPs (Istio's ztunnel resolves a hostname waypoint through the
   * Service the same way). Empty when nothing resolves.
   */
  waypointAddresses(wp: WaypointIR): readonly string[] {
    return this.waypointDialAddresses.get(wp) ?? wp.addresses;
  }

  private resolveWaypoint(wp: WaypointIR): readonly string[] {
    if (wp.addresses.length > 0 || !wp.hostnames) return wp.addresses;
    const out: string[] = [];
    for (const host of wp.hostnames) {
      const service = this.serviceByHostname(host, wp.namespace);
      if (!service) continue;
      const eps = this.endpoints(service, wp.hbonePort);
      const ips = eps.length > 0 ? eps.map((e) => e.workload.ip) : service.vips;
      for (const ip of ips) if (!out.includes(ip)) out.push(ip);
    }
    return Object.freeze(out);
  }

  waypointByAddress(ip: string): WaypointIR | undefined {
    return this.waypointsByAddress.get(ip);
  }

  waypoint(namespace: string, name: string): WaypointIR | undefined {
    return this.snapshot.waypoints.get(objectKey(namespace, name));
  }

  /** Services whose traffic this waypoint serves. */
  servicesOfWaypoint(wp: WaypointIR): readonly ServiceIR[] {
    return this.servicesByWaypoint.get(objectKey(wp.namespace, wp.name)) ?? EMPTY;
  }

  /** L4 policies that apply to a workload: global, its namespace's, and selector matches. */
  l4PoliciesFor(workload: WorkloadIR): readonly L4PolicyIR[] {
    const root = this.snapshot.mesh.rootNamespace;
    return this.snapshot.l4Policies.filter((p) => {
      switch (p.scope.kind) {
        case 'global':
          return p.namespace === root;
        case 'namespace':
          return p.namespace === workload.namespace;
        case 'selector':
          // A selector policy in the root namespace selects workloads in every namespace (Istio).
          return (p.namespace === workload.namespace || p.namespace === root) && labelsMatch(p.scope.matchLabels, workload.labels);
      }
    });
  }

  private computeEndpoints(service: ServiceIR, port: ServicePortIR): Endpoint[] {
    if (service.staticEndpoints) {
      return service.staticEndpoints
        .filter((e) => e.servicePort === undefined || e.servicePort === port.port)
        .map((e) => ({ workload: this.workloadsByIp.get(e.ip) ?? outsideWorkload(e.ip), targetPort: e.port }));
    }
    if (!service.selector) return [];
    const selector = service.selector;
    const out: Endpoint[] = [];
    for (const w of this.snapshot.workloads.values()) {
      if (w.namespace !== service.namespace || !labelsMatch(selector, w.labels)) continue;
      const targetPort = resolveTargetPort(port, w);
      if (targetPort !== undefined) out.push({ workload: w, targetPort });
    }
    return out;
  }
}

/** An endpoint address no mesh workload owns: reached in plaintext, like a non-ambient pod. */
function outsideWorkload(ip: string): WorkloadIR {
  return Object.freeze({
    uid: `Endpoint/${ip}`,
    name: ip,
    namespace: '',
    serviceAccount: '',
    identity: '',
    ip,
    node: '',
    labels: Object.freeze({}),
    protocol: 'TCP',
    containerPorts: Object.freeze([]),
    canonicalName: 'unknown',
    canonicalRevision: 'unknown',
    workloadName: 'unknown',
    origin: Object.freeze({ source: 'endpoint' }),
  });
}

function endpointKey(service: ServiceIR, port: number): string {
  return `${service.namespace}/${service.name}:${port}`;
}

/** A selector matches when every key/value it names is on the object (an empty one matches all). */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** A numeric targetPort is used as is; a named one is looked up in the pod's container ports. */
function resolveTargetPort(port: ServicePortIR, w: WorkloadIR): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  return w.containerPorts.find((cp) => cp.name === port.targetPort)?.port;
}
