/**
 * The config a request runs with, taken when the request starts (Envoy's HTTP connection manager
 * takes the current route configuration for each new stream; a stream in flight keeps the one it
 * started with). A tunnel lives as long as its client keeps it: taking the snapshot once per
 * tunnel would leave routes (canary weights), AuthorizationPolicy, RequestAuthentication and Wasm
 * changes stale on a keep-alive connection for its whole life, and a revoked permission would keep
 * admitting requests on it.
 *
 * Cheap on the hot path: one `view.current()` per request; tables and chains are rebuilt only
 * when the view changed (both providers cache per view).
 */
import type { FilterChain } from '../filter/chain.js';
import type { PathNormalization } from '../security/path-normalization.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import type { RouteTable, RouteTableProvider } from './router.js';

/** What one request uses from the config snapshot. */
export interface RequestConfig {
  readonly routes: RouteTable;
  readonly chain: FilterChain;
  /** The mesh's path normalization (default `BASE`). */
  readonly pathNormalization?: PathNormalization;
}

/** The filter chain of a service port in a view. */
export type ChainProvider = (view: MeshView, target: ServiceTarget) => FilterChain;

/** Looks the tunnel's Service port up again in a newer view (it may have changed or gone). */
export type TargetResolver = (view: MeshView) => ServiceTarget | undefined;

export class LiveRequestConfig {
  private view: MeshView;
  private config: RequestConfig;

  constructor(
    private readonly source: ViewSource,
    private readonly routes: RouteTableProvider,
    private readonly chains: ChainProvider,
    private target: ServiceTarget,
    view: MeshView,
    private readonly resolve: TargetResolver,
  ) {
    this.view = view;
    this.config = this.build(view);
  }

  /** The config a new request starts with: the current view's. */
  readonly current = (): RequestConfig => {
    const view = this.source.current();
    if (view !== this.view) {
      // A Service port no longer bound here keeps its last target, judged by the new view's
      // policies (fail closed: a revoked permission applies; its routes may have no endpoints).
      this.target = this.resolve(view) ?? this.target;
      this.view = view;
      this.config = this.build(view);
    }
    return this.config;
  };

  private build(view: MeshView): RequestConfig {
    const normalization = view.snapshot.mesh.pathNormalization;
    return {
      routes: this.routes.tableFor(view, this.target),
      chain: this.chains(view, this.target),
      ...(normalization ? { pathNormalization: normalization } : {}),
    };
  }
}

/** A config that never changes (tests, benches). */
export function fixedRequestConfig(config: RequestConfig): () => RequestConfig {
  return () => config;
}
