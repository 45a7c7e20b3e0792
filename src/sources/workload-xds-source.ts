/**
 * Istio's workload API (WDS) over delta ADS as a config source: `istio.workload.Address`
 * (Workloads and Services) and `istio.security.Authorization` (L4 policy), consumed by both the
 * ztunnel and the waypoint through the IR. A rejected resource is NACKed; an Address keeps its
 * previous version, an Authorization is replaced by its fail-closed stand-in (`wds-authorization.ts`).
 * Nothing is published before the first push of both types (no workload without its policies).
 * A lost control plane leaves everything in place (`status().stale`).
 */
import type { PolicyDraft } from '../config/from-k8s/translator.js';
import type { ResourceProblem } from '../config/from-xds/envoy-resources.js';
import { translateWdsAddress } from '../config/from-xds/wds-address.js';
import type { WdsServiceDraft, WdsWorkloadDraft } from '../config/from-xds/wds-address.js';
import { failClosedAuthorization, translateWdsAuthorization } from '../config/from-xds/wds-authorization.js';
import { assembleWorkloadConfig } from '../config/from-xds/workload-config.js';
import { XdsReader, XdsRejection } from '../config/from-xds/xds-reader.js';
import type { XdsClientOptions } from './xds-client.js';
import { DeltaXdsClient } from './xds-delta-client.js';
import { XdsSourceBase } from './xds-source-base.js';

export const ADDRESS_TYPE = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE = 'type.googleapis.com/istio.security.Authorization';

export type WorkloadXdsSourceOptions = XdsClientOptions;

export class WorkloadXdsSource extends XdsSourceBase {
  private readonly client: DeltaXdsClient;
  /** By resource name (the delta `Resource.name`). */
  private readonly workloads = new Map<string, WdsWorkloadDraft>();
  private readonly services = new Map<string, WdsServiceDraft>();
  private readonly authorizations = new Map<string, PolicyDraft>();

  constructor(private readonly opts: WorkloadXdsSourceOptions) {
    super(`wds ${opts.address}`, opts.address, opts.onEvent);
    const source = `xds://${opts.address}`;
    this.client = new DeltaXdsClient(
      {
        address: opts.address,
        credentials: opts.credentials,
        node: opts.node,
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
        ...(opts.backoff ? { backoff: opts.backoff } : {}),
        onEvent: (e) => this.onEvent(e),
      },
      [
        {
          typeUrl: ADDRESS_TYPE,
          apply: (updated, removed) =>
            this.applyType(ADDRESS_TYPE, updated, removed, (name, r) => {
              const d = translateWdsAddress(r);
              this.workloads.delete(name);
              this.services.delete(name);
              if (d.kind === 'workload') this.workloads.set(name, d.workload);
              else this.services.set(name, d.service);
            }, (name) => this.workloads.delete(name) || this.services.delete(name)),
        },
        {
          typeUrl: AUTHORIZATION_TYPE,
          apply: (updated, removed) =>
            this.applyType(
              AUTHORIZATION_TYPE,
              updated,
              removed,
              (name, r) => this.authorizations.set(name, translateWdsAuthorization(r, source)),
              (name) => this.authorizations.delete(name),
              // A policy is never kept old or dropped when its update cannot be read: it fails closed.
              (name, value) => this.authorizations.set(name, failClosedAuthorization(value, name, source)),
            ),
        },
      ],
    );
    this.client.start();
  }

  protected stop(): void {
    this.client.close();
  }

  private applyType(
    typeUrl: string,
    updated: readonly { name: string; value: unknown }[],
    removed: readonly string[],
    put: (name: string, r: XdsReader) => void,
    drop: (name: string) => boolean,
    /** What to install instead of a rejected resource; absent, its previous version keeps serving. */
    onReject?: (name: string, value: unknown) => void,
  ): readonly ResourceProblem[] {
    const problems: ResourceProblem[] = [];
    for (const u of updated) {
      try {
        // Translation happens before `put` replaces anything: a rejected update keeps the old one.
        put(u.name, new XdsReader(u.value));
      } catch (err) {
        if (!(err instanceof XdsRejection)) throw err;
        problems.push({ typeUrl, name: u.name, field: err.problem.path, message: err.problem.message });
        onReject?.(u.name, u.value);
      }
    }
    for (const n of removed) drop(n);
    this.problems.set(typeUrl, problems);
    this.received.add(typeUrl);
    this.synced ||= this.received.size === 2;
    if (this.synced) this.stale = false;
    // Fail closed at start: workloads published before the first Authorization push would be
    // served with no L4 policy at all (allow), so nothing is published until both types arrived.
    if (!this.synced) return problems;
    this.objs = assembleWorkloadConfig({ workloads: this.workloads, services: this.services, authorizations: this.authorizations }, `xds://${this.opts.address}`);
    this.emit();
    return problems;
  }

}
