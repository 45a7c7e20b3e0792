/**
 * What the admin API shows of a waypoint: its upstream clusters (Istio's
 * `inbound-vip|<port>|<http|tcp>|<host>` per service port it fronts, each endpoint with its
 * active requests), its HBONE listeners (Istio's `connect_terminate`), its certificate, and the
 * config it serves. Built per admin request from the current view: nothing here is on the data path.
 */
import type { WaypointRef } from '../config/ir.js';
import type { CertSource } from '../identity/tls-material.js';
import { waypointClusterName } from '../telemetry/access-record.js';
import type { Logger } from '../telemetry/logger.js';
import type { ProxyHealthSource, ProxyMetrics } from '../telemetry/metrics.js';
import { endpointAddress } from '../upstream/lb.js';
import type { Waypoint } from '../waypoint/waypoint.js';
import type { AdminTarget, CertChainStatus, ClusterStatus, ListenerStatus } from './admin-server.js';
import { certChainStatus } from './cert-status.js';
import type { DumpSource } from './config-dump.js';
import { configDump } from './config-dump.js';
import type { TraceHub } from './debug-trace.js';
import type { ReadinessServer } from './readiness-server.js';

export interface WaypointAdminOptions {
  readonly ref: WaypointRef;
  readonly waypoint: Waypoint;
  readonly store: DumpSource;
  readonly certs: CertSource;
  readonly metrics: ProxyMetrics;
  readonly readiness: ReadinessServer;
  readonly logger: Logger;
  readonly quit: () => void;
  /** `/debug/trace`, when started with --debug-trace. */
  readonly debugTrace?: TraceHub;
}

export function waypointAdminTarget(o: WaypointAdminOptions): AdminTarget {
  return {
    role: 'waypoint',
    nodeId: `waypoint~${o.ref.namespace}/${o.ref.name}`,
    metrics: o.metrics,
    readiness: o.readiness,
    logger: o.logger,
    configDump: (resource) => configDump(o.store, resource),
    clusters: () => waypointClusters(o),
    listeners: (): ListenerStatus[] => o.waypoint.listening().map((a) => ({ name: 'connect_terminate', address: a.address, port: a.port })),
    certs: async (): Promise<CertChainStatus[]> => {
      const wp = o.store.current().waypoint(o.ref.namespace, o.ref.name);
      if (!wp) return [];
      return [certChainStatus(await o.certs.certificate(wp.identity), o.certs.rootsPem())];
    },
    drainListeners: () => o.waypoint.drainListeners(),
    quit: o.quit,
    ...(o.debugTrace ? { debugTrace: o.debugTrace } : {}),
  };
}

function waypointClusters(o: WaypointAdminOptions): ClusterStatus[] {
  const view = o.store.current();
  const wp = view.waypoint(o.ref.namespace, o.ref.name);
  if (!wp) return [];
  const out: ClusterStatus[] = [];
  for (const svc of view.servicesOfWaypoint(wp)) {
    for (const p of svc.ports) {
      const kind = p.appProtocol === 'tcp' || p.appProtocol === 'tls' ? 'tcp' : 'http';
      out.push({
        name: waypointClusterName(kind, p.port, svc.hostname),
        hosts: view.endpoints(svc, p.port).map((ep) => ({ address: endpointAddress(ep), rqActive: o.waypoint.balancer.activeOf(ep), healthFlags: 'healthy' })),
      });
    }
  }
  return out;
}

/** The waypoint's health gauges. */
export function waypointHealth(waypoint: Waypoint, store: DumpSource): ProxyHealthSource {
  return {
    downstreamConnections: () => waypoint.stats().server.connections,
    downstreamStreams: () => waypoint.stats().server.streams,
    upstreamPool: () => waypoint.stats().pool,
    configGeneration: () => store.current().generation,
    configErrors: () => store.diagnostics().filter((d) => d.severity === 'error').length,
    downstreamCxOverflow: () => waypoint.stats().server.overflow,
  };
}
