/**
 * The Envoy resources one source currently holds, by type and name, translated one at a time with
 * last-good semantics: a resource that fails translation is reported (for the NACK) and its
 * previous good version keeps serving. Whatever the transport (bootstrap file, ADS stream), the
 * same set turns into IR objects through `envoy-config.ts`.
 */
import { translateCluster } from './cluster.js';
import type { ClusterDraft } from './cluster.js';
import { translateClusterLoadAssignment } from './cluster-load-assignment.js';
import type { ClusterLoadAssignmentDraft } from './cluster-load-assignment.js';
import { translateListener } from './listener.js';
import type { ListenerDraft } from './listener.js';
import { translateRouteConfiguration } from './route-configuration.js';
import type { RouteConfigurationDraft } from './route-configuration.js';
import { XdsReader, XdsRejection } from './xds-reader.js';

export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

export type EnvoyTypeUrl = typeof LISTENER_TYPE | typeof ROUTE_TYPE | typeof CLUSTER_TYPE | typeof ENDPOINT_TYPE;
export const ENVOY_TYPES: readonly EnvoyTypeUrl[] = [LISTENER_TYPE, ROUTE_TYPE, CLUSTER_TYPE, ENDPOINT_TYPE];

export function isEnvoyType(t: string): t is EnvoyTypeUrl {
  return (ENVOY_TYPES as readonly string[]).includes(t);
}

/** One rejected resource, worded for an xDS NACK and for diagnostics. */
export interface ResourceProblem {
  readonly typeUrl: string;
  readonly name: string;
  readonly field: string;
  readonly message: string;
}

export function formatProblem(p: ResourceProblem): string {
  return `${shortType(p.typeUrl)} ${p.name}: ${p.field}: ${p.message}`;
}

export function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

export interface DecodedResource {
  /** The name the transport gave (delta `Resource.name`); else the resource's own name field. */
  readonly name?: string;
  readonly value: unknown;
}

export interface ApplyResult {
  readonly problems: readonly ResourceProblem[];
  /** True when any held resource changed. */
  readonly changed: boolean;
}

type Drafts = {
  [LISTENER_TYPE]: ListenerDraft;
  [ROUTE_TYPE]: RouteConfigurationDraft;
  [CLUSTER_TYPE]: ClusterDraft;
  [ENDPOINT_TYPE]: ClusterLoadAssignmentDraft;
};

function translate<T extends EnvoyTypeUrl>(typeUrl: T, r: XdsReader): Drafts[T];
function translate(typeUrl: EnvoyTypeUrl, r: XdsReader): Drafts[EnvoyTypeUrl] {
  switch (typeUrl) {
    case LISTENER_TYPE:
      return translateListener(r);
    case ROUTE_TYPE:
      return translateRouteConfiguration(r);
    case CLUSTER_TYPE:
      return translateCluster(r);
    case ENDPOINT_TYPE:
      return translateClusterLoadAssignment(r);
  }
}

function nameOf(typeUrl: EnvoyTypeUrl, value: unknown): string {
  const obj = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const n = typeUrl === ENDPOINT_TYPE ? obj['cluster_name'] : obj['name'];
  return typeof n === 'string' ? n : '';
}

export class EnvoyResourceSet {
  readonly listeners = new Map<string, ListenerDraft>();
  readonly routes = new Map<string, RouteConfigurationDraft>();
  readonly clusters = new Map<string, ClusterDraft>();
  readonly endpoints = new Map<string, ClusterLoadAssignmentDraft>();
  /** The raw form of each held resource, to tell an update from a repeat. */
  private readonly raw = new Map<string, string>();

  private mapOf(t: EnvoyTypeUrl): Map<string, Drafts[EnvoyTypeUrl]> {
    switch (t) {
      case LISTENER_TYPE:
        return this.listeners;
      case ROUTE_TYPE:
        return this.routes;
      case CLUSTER_TYPE:
        return this.clusters;
      case ENDPOINT_TYPE:
        return this.endpoints;
    }
  }

  /**
   * Adds or updates resources. `replaceAll` (state-of-the-world LDS/CDS, a bootstrap file) also
   * removes held resources of the type that are not in `resources` — except rejected ones, whose
   * previous version stays.
   */
  apply(typeUrl: EnvoyTypeUrl, resources: readonly DecodedResource[], replaceAll: boolean): ApplyResult {
    const problems: ResourceProblem[] = [];
    const map = this.mapOf(typeUrl);
    const seen = new Set<string>();
    let changed = false;
    for (const res of resources) {
      const name = res.name ?? nameOf(typeUrl, res.value);
      seen.add(name);
      const rawKey = `${typeUrl}|${name}`;
      const text = JSON.stringify(res.value);
      if (this.raw.get(rawKey) === text && map.has(name)) continue;
      try {
        const draft = translate(typeUrl, new XdsReader(res.value));
        map.set(name, draft);
        this.raw.set(rawKey, text);
        changed = true;
      } catch (err) {
        if (!(err instanceof XdsRejection)) throw err;
        problems.push({ typeUrl, name: name || '(unnamed)', field: err.problem.path, message: err.problem.message });
      }
    }
    if (replaceAll) {
      for (const name of [...map.keys()]) {
        if (!seen.has(name)) changed = this.remove(typeUrl, [name]) || changed;
      }
    }
    return { problems, changed };
  }

  remove(typeUrl: EnvoyTypeUrl, names: readonly string[]): boolean {
    const map = this.mapOf(typeUrl);
    let changed = false;
    for (const n of names) {
      changed = map.delete(n) || changed;
      this.raw.delete(`${typeUrl}|${n}`);
    }
    return changed;
  }

  /** RouteConfiguration names the listeners follow (RDS subscriptions). */
  routeNames(): string[] {
    return [...new Set([...this.listeners.values()].flatMap((l) => l.connectionManagers.flatMap((c) => (c.rdsName ? [c.rdsName] : []))))].sort();
  }

  /** ClusterLoadAssignment names the EDS clusters follow. */
  endpointNames(): string[] {
    return [...new Set([...this.clusters.values()].flatMap((c) => (c.edsName ? [c.edsName] : [])))].sort();
  }
}
