/**
 * What the admin API shows of a ztunnel: its listeners (HBONE in and SOCKS5 out per local pod),
 * the certificates of its local workloads, and the config it serves. A ztunnel has no Envoy-style
 * clusters (it dials endpoints directly), so `/clusters` is empty, as on a real ztunnel.
 */
import type { CertSource } from '../identity/tls-material.js';
import type { Logger } from '../telemetry/logger.js';
import type { ProxyHealthSource, ProxyMetrics } from '../telemetry/metrics.js';
import type { Ztunnel } from '../ztunnel/ztunnel.js';
import type { AdminTarget, CertChainStatus, ListenerStatus } from './admin-server.js';
import { certChainStatus } from './cert-status.js';
import type { DumpSource } from './config-dump.js';
import { configDump } from './config-dump.js';
import { ztunnelDump } from './ztunnel-dump.js';
import type { ReadinessServer } from './readiness-server.js';

export interface ZtunnelAdminOptions {
  readonly node: string;
  readonly ztunnel: Ztunnel;
  readonly store: DumpSource;
  readonly certs: CertSource;
  readonly metrics: ProxyMetrics;
  readonly readiness: ReadinessServer;
  readonly logger: Logger;
  readonly quit: () => void;
}

function listenerStatus(name: string, hostPort: string): ListenerStatus {
  const i = hostPort.lastIndexOf(':');
  return { name, address: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
}

export function ztunnelAdminTarget(o: ZtunnelAdminOptions): AdminTarget {
  return {
    role: 'ztunnel',
    nodeId: `ztunnel~${o.node}`,
    metrics: o.metrics,
    readiness: o.readiness,
    logger: o.logger,
    // Istio's ztunnel shape at the top level (istioctl ztunnel-config reads it), our snapshot
    // sections under `configs` beside it; `?resource=` narrows to one snapshot section as before.
    configDump: async (resource) => {
      if (resource) return configDump(o.store, resource);
      const view = o.store.current();
      const identities = [...new Set(view.workloadsOnNode(o.node).filter((w) => w.protocol === 'HBONE').map((w) => w.identity))].sort();
      const certificates = await Promise.all(identities.map((id) => o.certs.certificate(id)));
      const dump = ztunnelDump({ view, node: o.node, certificates, roots: o.certs.rootsPem(), connections: o.ztunnel.live.list() });
      return { ...dump, ...(configDump(o.store) as Record<string, unknown>) };
    },
    clusters: () => [],
    listeners: () => {
      const l = o.ztunnel.listening();
      return [
        ...l.hbone.map((a) => listenerStatus('hbone_inbound', a)),
        ...l.socks.map((a) => listenerStatus('socks5_outbound', a)),
        ...l.plaintext.map((a) => listenerStatus('plaintext_inbound', a)),
        ...o.ztunnel.fixedInboundAddresses().map((a) => listenerStatus('fixed_plaintext_inbound', a)),
      ];
    },
    certs: async (): Promise<CertChainStatus[]> => {
      const local = o.store.current().workloadsOnNode(o.node).filter((w) => w.protocol === 'HBONE');
      const identities = [...new Set(local.map((w) => w.identity))].sort();
      const roots = o.certs.rootsPem();
      return Promise.all(identities.map(async (id) => certChainStatus(await o.certs.certificate(id), roots)));
    },
    drainListeners: () => o.ztunnel.drainListeners(),
    quit: o.quit,
  };
}

/** The ztunnel's health gauges. */
export function ztunnelHealth(ztunnel: Ztunnel, store: DumpSource): ProxyHealthSource {
  return {
    downstreamConnections: () => {
      const s = ztunnel.stats();
      return s.server.connections + s.socksClients;
    },
    downstreamStreams: () => ztunnel.stats().server.streams,
    upstreamPool: () => ztunnel.stats().pool ?? { connections: 0, streams: 0 },
    configGeneration: () => store.current().generation,
    configErrors: () => store.diagnostics().filter((d) => d.severity === 'error').length,
    downstreamCxOverflow: () => ztunnel.stats().server.overflow,
  };
}
