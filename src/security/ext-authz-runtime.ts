/**
 * The waypoint's side of AuthorizationPolicy CUSTOM: which CUSTOM policies of a service port go to
 * an external authorizer, the long-lived check clients (connection pools outlive snapshots), and
 * where the authorization service is.
 *
 * Reaching the service: `service` is resolved against the mesh view first (a Service host name →
 * its ready endpoints, `podIP:targetPort`), else used as a DNS name or IP as written. The check
 * connects to that address directly (plain HTTP/1.1 or h2c gRPC), not through an HBONE tunnel:
 * a waypoint's Envoy reaches the provider through its outbound cluster, which for an in-mesh
 * authorizer would be mTLS; here the hop is plaintext (documented in docs/security.md).
 *
 * Provider choice per port, as istiod does it: one provider per workload. CUSTOM policies naming
 * that provider are checked; CUSTOM policies naming an unknown provider, or a second provider,
 * stay with the RBAC filter, which fails them closed (their matching requests are denied).
 */
import type { L7PolicyIR } from '../config/ir-security.js';
import type { ExtAuthzProvider } from '../filter/ext-authz-config.js';
import type { FilterFactory } from '../filter/api.js';
import { cidrContains } from '../net/cidr.js';
import type { MeshView } from '../state/mesh-view.js';
import type { CheckClient } from '../../filters/ext-authz/check-client.js';
import { ExtAuthzStats, createExtAuthzFactory } from '../../filters/ext-authz/ext-authz-filter.js';
import { DeferredCheckClient } from '../../filters/ext-authz/deferred-check-client.js';

export interface CustomSplit {
  /** The ext_authz filter, when a CUSTOM policy names a configured provider. */
  readonly filter?: FilterFactory;
  /** The policies left to the RBAC filter (CUSTOM ones among them fail closed). */
  readonly rbacPolicies: readonly L7PolicyIR[];
}

export class ExtAuthzRuntime {
  readonly stats = new ExtAuthzStats();
  private readonly clients = new Map<string, CheckClient>();
  private prunedAt = -1;

  /** Splits a port's policies between the ext_authz filter and the RBAC filter. */
  split(view: MeshView, policies: readonly L7PolicyIR[]): CustomSplit {
    const providers = view.snapshot.mesh.extAuthzProviders ?? {};
    this.prune(view.generation, providers);
    const chosen = policies.find((p) => p.action === 'CUSTOM' && !p.dryRun && p.provider !== undefined && providers[p.provider] !== undefined)?.provider;
    if (chosen === undefined) return { rbacPolicies: policies };
    const provider = providers[chosen] as ExtAuthzProvider;
    const handled = policies.filter((p) => p.action === 'CUSTOM' && !p.dryRun && p.provider === chosen);
    const filter = createExtAuthzFactory({
      provider,
      policies: handled,
      client: this.clientFor(provider),
      addresses: addressesOf(view, provider),
      ipInCidr: cidrContains,
      stats: this.stats,
    });
    return { ...(filter ? { filter } : {}), rbacPolicies: policies.filter((p) => !handled.includes(p)) };
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }

  /**
   * Closes the clients of providers a newer config no longer has (or changed), once per
   * generation. A request of an older view still holding one then gets a check error, which
   * fails closed unless the provider failed open.
   */
  private prune(generation: number, providers: Readonly<Record<string, ExtAuthzProvider>>): void {
    if (generation <= this.prunedAt) return;
    this.prunedAt = generation;
    const live = new Set(Object.values(providers).map((p) => JSON.stringify(p)));
    for (const [key, client] of this.clients) {
      if (live.has(key)) continue;
      this.clients.delete(key);
      void client.close();
    }
  }

  private clientFor(provider: ExtAuthzProvider): CheckClient {
    const key = JSON.stringify(provider);
    let c = this.clients.get(key);
    if (!c) {
      // Loaded on first use: the clients' dependencies (grpc-js, proto-loader) cost RSS and start-up time.
      c = new DeferredCheckClient(async () =>
        provider.kind === 'http'
          ? new (await import('../../filters/ext-authz/http-check-client.js')).HttpCheckClient(provider)
          : new (await import('../../filters/ext-authz/grpc-check-client.js')).GrpcCheckClient(provider),
      );
      this.clients.set(key, c);
    }
    return c;
  }
}

function addressesOf(view: MeshView, provider: ExtAuthzProvider): string[] {
  const service = view.serviceByHostname(provider.service);
  if (service) return view.endpoints(service, provider.port).map((ep) => hostPort(ep.workload.ip, ep.targetPort));
  return [hostPort(provider.service, provider.port)];
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
