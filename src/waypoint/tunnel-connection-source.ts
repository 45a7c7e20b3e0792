/**
 * {@link HttpConnectionSource} of one accepted HTTP tunnel: the Service port it was accepted for,
 * looked up again in the current mesh view when the view has changed since the last request, so
 * route tables and filter chains (authorization, JWT, Wasm) are the current ones for every new
 * request (issue 17: a revoked permission must stop the next request). A lookup that no longer
 * finds the port fronted by this waypoint (the Service was unbound from it or deleted) fails
 * closed: the request gets what a new tunnel would get from the listener, 400
 * `HBONE_SERVICE_NOT_BOUND`, and the connection ends; the old routes and policies are never
 * used again.
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
    // The listener's own test, so an open tunnel is served exactly when a new one would be.
    if (target && view.frontedBy(target.service, f.waypoint)) this.conn = this.build(view, target);
    else this.conn = { ...this.conn, refusal: 'HBONE_SERVICE_NOT_BOUND' };
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
