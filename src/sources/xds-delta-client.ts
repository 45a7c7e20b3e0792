/**
 * A delta (incremental) ADS client (`DeltaAggregatedResources`), as ztunnel uses for Istio's
 * workload API: wildcard subscriptions per type, responses carrying only changed resources and
 * removed names. Transport only: handlers translate and answer with problems; the client ACKs
 * (nonce) or NACKs (nonce + `error_detail` naming each rejected resource and field). It remembers
 * the version of every accepted resource and, after a reconnect (with backoff), sends them as
 * `initial_resource_versions` so the control plane only sends what changed meanwhile.
 */
import type { DecodedResource, ResourceProblem } from '../config/from-xds/envoy-resources.js';
import { formatProblem } from '../config/from-xds/envoy-resources.js';
import type { AdsDuplex, AdsMethod } from './ads-stream.js';
import { AdsStream, INVALID_ARGUMENT } from './ads-stream.js';
import type { XdsClientOptions } from './xds-client.js';
import { adsDeltaMethod } from './xds-protos.js';

export interface DeltaTypeHandler {
  readonly typeUrl: string;
  /** Applies changed resources (with names) and removals; returns the rejected resources. */
  apply(updated: readonly (DecodedResource & { readonly name: string })[], removed: readonly string[]): readonly ResourceProblem[];
}

export class DeltaXdsClient extends AdsStream {
  private readonly handlers = new Map<string, DeltaTypeHandler>();
  /** Accepted version per resource name, per type. */
  private readonly versions = new Map<string, Map<string, string>>();

  constructor(opts: XdsClientOptions, handlers: readonly DeltaTypeHandler[]) {
    super(opts);
    for (const h of handlers) {
      this.handlers.set(h.typeUrl, h);
      this.versions.set(h.typeUrl, new Map());
    }
  }

  protected method(): AdsMethod {
    return adsDeltaMethod();
  }

  protected onOpen(stream: AdsDuplex): void {
    let first = true;
    for (const typeUrl of this.handlers.keys()) {
      const initial = Object.fromEntries(this.versions.get(typeUrl) ?? []);
      stream.write({
        type_url: typeUrl,
        // Wildcard: everything of the type, as ztunnel subscribes.
        resource_names_subscribe: ['*'],
        initial_resource_versions: initial,
        ...(first ? { node: { id: this.opts.node.id, cluster: this.opts.node.cluster } } : {}),
      });
      first = false;
    }
  }

  protected onResponse(res: Record<string, unknown>): void {
    const typeUrl = typeof res['type_url'] === 'string' ? res['type_url'] : '';
    const handler = this.handlers.get(typeUrl);
    const nonce = typeof res['nonce'] === 'string' ? res['nonce'] : '';
    if (!handler) return;
    const versions = this.versions.get(typeUrl)!;
    const updated: (DecodedResource & { name: string; version: string })[] = [];
    const problems: ResourceProblem[] = [];
    for (const r of Array.isArray(res['resources']) ? (res['resources'] as Record<string, unknown>[]) : []) {
      const name = typeof r['name'] === 'string' ? r['name'] : '';
      const version = typeof r['version'] === 'string' ? r['version'] : '';
      const body = r['resource'] as Record<string, unknown> | undefined;
      if (!body || body['@type'] !== typeUrl) {
        problems.push({ typeUrl, name: name || '(unnamed)', field: 'resource', message: `not a ${typeUrl}` });
        continue;
      }
      updated.push({ name, version, value: body });
    }
    const removed = Array.isArray(res['removed_resources']) ? (res['removed_resources'] as unknown[]).filter((n): n is string => typeof n === 'string') : [];
    const rejected = handler.apply(updated, removed);
    problems.push(...rejected);
    const bad = new Set(problems.map((p) => p.name));
    for (const u of updated) if (!bad.has(u.name)) versions.set(u.name, u.version);
    for (const n of removed) versions.delete(n);
    if (problems.length === 0) {
      this.stream?.write({ type_url: typeUrl, response_nonce: nonce });
      this.opts.onEvent?.({ kind: 'ack', typeUrl, version: nonce });
    } else {
      const message = problems.map(formatProblem).join('; ');
      this.stream?.write({ type_url: typeUrl, response_nonce: nonce, error_detail: { code: INVALID_ARGUMENT, message } });
      this.opts.onEvent?.({ kind: 'nack', typeUrl, version: nonce, message });
    }
  }
}
