/**
 * Envoy v3 resources over ADS as a config source: LDS and CDS by wildcard, RDS and EDS for the
 * names the listeners and clusters follow, all translated into the IR by `from-xds/`. A rejected
 * resource is NACKed and its previous version keeps serving; a lost control plane leaves the last
 * good config in place (`status().stale`) while the client reconnects.
 */
import { assembleEnvoyConfig } from '../config/from-xds/envoy-config.js';
import type { EnvoyConfigTarget } from '../config/from-xds/envoy-config.js';
import { CLUSTER_TYPE, ENDPOINT_TYPE, EnvoyResourceSet, LISTENER_TYPE, ROUTE_TYPE } from '../config/from-xds/envoy-resources.js';
import type { EnvoyTypeUrl, ResourceProblem } from '../config/from-xds/envoy-resources.js';
import { XdsClient } from './xds-client.js';
import type { SotwTypeHandler, XdsClientOptions } from './xds-client.js';
import { XdsSourceBase } from './xds-source-base.js';

export interface EnvoyXdsSourceOptions extends XdsClientOptions {
  readonly waypoint: EnvoyConfigTarget['waypoint'];
}

export class EnvoyXdsSource extends XdsSourceBase {
  private readonly set = new EnvoyResourceSet();
  private readonly client: XdsClient;

  constructor(private readonly opts: EnvoyXdsSourceOptions) {
    super(`xds ${opts.address}`, opts.address, opts.onEvent);
    const handler = (typeUrl: EnvoyTypeUrl, names: () => readonly string[] | undefined, replaceAll: boolean): SotwTypeHandler => ({
      typeUrl,
      names,
      apply: (resources) => this.onResources(typeUrl, resources, replaceAll),
    });
    this.client = new XdsClient(
      {
        address: opts.address,
        credentials: opts.credentials,
        node: opts.node,
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        onEvent: (e) => this.onEvent(e),
      },
      [
        handler(CLUSTER_TYPE, () => undefined, true),
        handler(ENDPOINT_TYPE, () => this.set.endpointNames(), false),
        handler(LISTENER_TYPE, () => undefined, true),
        handler(ROUTE_TYPE, () => this.set.routeNames(), false),
      ],
    );
    this.client.start();
  }

  protected stop(): void {
    this.client.close();
  }

  private onResources(typeUrl: EnvoyTypeUrl, resources: Parameters<EnvoyResourceSet['apply']>[1], replaceAll: boolean): readonly ResourceProblem[] {
    const result = this.set.apply(typeUrl, resources, replaceAll);
    this.problems.set(typeUrl, result.problems);
    this.received.add(typeUrl);
    // Routes and endpoints nobody follows any more are dropped (SotW: they are not re-sent).
    if (typeUrl === LISTENER_TYPE) this.prune(ROUTE_TYPE, this.set.routeNames(), [...this.set.routes.keys()]);
    if (typeUrl === CLUSTER_TYPE) this.prune(ENDPOINT_TYPE, this.set.endpointNames(), [...this.set.endpoints.keys()]);
    this.client.resubscribe(ROUTE_TYPE);
    this.client.resubscribe(ENDPOINT_TYPE);
    const wasSynced = this.synced;
    this.synced ||= this.complete();
    if (this.synced && this.stale) this.stale = false;
    if (result.changed || this.synced !== wasSynced || result.problems.length > 0) {
      this.objs = assembleEnvoyConfig(this.set, { waypoint: this.opts.waypoint, source: `xds://${this.opts.address}` });
      this.emit();
    }
    return result.problems;
  }

  private prune(typeUrl: EnvoyTypeUrl, wanted: readonly string[], held: readonly string[]): void {
    const keep = new Set(wanted);
    this.set.remove(typeUrl, held.filter((n) => !keep.has(n)));
  }

  /** First config is complete when LDS and CDS arrived and everything they name is here. */
  private complete(): boolean {
    if (!this.received.has(LISTENER_TYPE) || !this.received.has(CLUSTER_TYPE)) return false;
    return this.set.routeNames().every((n) => this.set.routes.has(n)) && this.set.endpointNames().every((n) => this.set.endpoints.has(n));
  }

}
