/**
 * {@link HttpConnectionSource} of one accepted HTTP tunnel: the Service port it was accepted for,
 * looked up again in the current mesh view when the view has changed since the last request, so
 * route tables and filter chains (authorization, JWT, Wasm) are the current ones for every new
 * request (issue 17: a revoked permission must stop the next request). A lookup that no longer
 * finds the port bound to this waypoint keeps the last facts; the tunnel itself was accepted
 * under them, and the ztunnel routes new connections by the new config.
 */
import type { WaypointRef } from '../config/ir.js';
import type { DestinationInfo, SourceInfo } from '../filter/api.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import type { UpstreamHttpVersion } from '../upstream/http-client.js';
import type { HttpConnection, HttpConnectionSource } from './http-connection.js';
import type { FilterChain } from '../filter/chain.js';
import type { RouteTableProvider } from './router.js';

export interface TunnelFacts {
  readonly waypoint: WaypointRef;
  readonly views: ViewSource;
  readonly routes: RouteTableProvider;
  readonly chains: (view: MeshView, target: ServiceTarget) => FilterChain;
  /** The CONNECT authority, parsed. */
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
  readonly connectAuthority: string;
  readonly source: SourceInfo;
  readonly remote: string;
  readonly upstreamVersion: UpstreamHttpVersion;
}

export class TunnelConnectionSource implements HttpConnectionSource {
  private view: MeshView;
  private conn: HttpConnection;

  constructor(
    private readonly facts: TunnelFacts,
    view: MeshView,
    target: ServiceTarget,
  ) {
    this.view = view;
    this.conn = this.build(view, target);
  }

  current(): HttpConnection {
    const view = this.facts.views.current();
    if (view === this.view) return this.conn;
    this.view = view;
    const f = this.facts;
    const target = view.serviceTarget(f.host, f.port, f.isIp);
    const bound = target ? view.waypointOf(target.service) : undefined;
    if (target && bound && bound.namespace === f.waypoint.namespace && bound.name === f.waypoint.name) this.conn = this.build(view, target);
    return this.conn;
  }

  private build(view: MeshView, t: ServiceTarget): HttpConnection {
    const f = this.facts;
    const destination: DestinationInfo = {
      hostname: t.service.hostname,
      name: t.service.name,
      namespace: t.service.namespace,
      port: t.port.port,
      appProtocol: t.port.appProtocol,
      connectAuthority: f.connectAuthority,
    };
    const normalization = view.snapshot.mesh.pathNormalization;
    return {
      routes: f.routes.tableFor(view, t),
      chain: f.chains(view, t),
      destination,
      source: f.source,
      downstreamLocalAddress: f.connectAuthority,
      downstreamRemoteAddress: f.remote,
      upstreamVersion: f.upstreamVersion,
      ...(normalization ? { pathNormalization: normalization } : {}),
    };
  }
}
