/**
 * The observability servers every mesh role runs beside readiness (15021), on the role's own
 * address: the admin API on 15000 and the Prometheus endpoint on 15020 and 15090. Started and
 * closed together so the role commands wire them in one step.
 */
import type { AdminTarget } from './admin-server.js';
import { ADMIN_PORT, AdminServer } from './admin-server.js';
import { ENVOY_METRICS_PORT, MERGED_METRICS_PORT, PrometheusServer } from './prometheus-server.js';

export interface RoleObservabilityPorts {
  readonly admin: number;
  readonly metrics: readonly number[];
}

export const DEFAULT_OBSERVABILITY_PORTS: RoleObservabilityPorts = Object.freeze({
  admin: ADMIN_PORT,
  metrics: Object.freeze([MERGED_METRICS_PORT, ENVOY_METRICS_PORT]),
});

export class RoleObservability {
  readonly admin: AdminServer;
  readonly prometheus: PrometheusServer;

  constructor(target: AdminTarget) {
    this.admin = new AdminServer(target);
    this.prometheus = new PrometheusServer(target.metrics);
  }

  /** Binds every server on `host`; the ports actually bound (port 0 picks one). */
  async listen(host: string, ports: RoleObservabilityPorts = DEFAULT_OBSERVABILITY_PORTS): Promise<{ readonly admin: number; readonly metrics: number[] }> {
    const admin = await this.admin.listen(host, ports.admin);
    const metrics = await this.prometheus.listen(host, ports.metrics);
    return { admin: admin.port, metrics: metrics.map((a) => a.port) };
  }

  async close(deadlineMs: number): Promise<void> {
    await Promise.all([this.admin.close(deadlineMs), this.prometheus.close(deadlineMs)]);
  }
}
