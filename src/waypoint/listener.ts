/**
 * The waypoint's HBONE handler: what Envoy's `connect_terminate` → `main_internal` filter-chain
 * match does (reference §2.2).
 *
 * 1. Map the CONNECT `:authority` (`VIP:port` or `hostname:port`) to a Service port whose
 *    traffic is bound to THIS waypoint; anything else is refused 400 `HBONE_SERVICE_NOT_BOUND`
 *    (a waypoint serves only what it fronts, as agentgateway and Istio's chain match do).
 * 2. Accept (200): the tunnel is now a byte stream.
 * 3. Classify the port: `appProtocol` http/http2/grpc → HTTP; tcp/tls → TCP; unknown → sniff the
 *    first bytes with a short timeout (a server-first protocol must not stall) → HTTP or TCP.
 *    On HTTP ports the first bytes still choose the HTTP/1.1 or HTTP/2 codec (Envoy's `AUTO`).
 */
import type { ServiceTarget } from '../state/mesh-view.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import type { WaypointRef } from '../config/ir.js';
import type { SourceInfo } from '../filter/api.js';
import type { FilterChain } from '../filter/chain.js';
import { formatAuthority } from '../hbone/authority.js';
import type { HboneConnect } from '../hbone/types.js';
import type { UpstreamHttpVersion } from '../upstream/http-client.js';
import type { HttpProxy, InnerHttpProtocol } from './http-proxy.js';
import type { RouteTableProvider } from './router.js';
import type { SniffOutcome } from './sniff.js';
import { sniffStream } from './sniff.js';
import type { TcpProxy } from './tcp-proxy.js';
import { TunnelConnectionSource } from './tunnel-connection-source.js';
import type { Duplex } from 'node:stream';

/** The filter chain of a service port in a view (compiled per snapshot by the policy issues). */
export type FilterChainProvider = (view: MeshView, target: ServiceTarget) => FilterChain;

export interface WaypointListenerDeps {
  readonly waypoint: WaypointRef;
  readonly view: ViewSource;
  readonly http: HttpProxy;
  readonly tcp: TcpProxy;
  readonly routes: RouteTableProvider;
  readonly chains: FilterChainProvider;
  /** Sniffing timeout on ports of unknown protocol. */
  readonly sniffTimeoutMs: number;
  readonly onError: (err: unknown, context: string) => void;
}

export class WaypointListener {
  constructor(private readonly deps: WaypointListenerDeps) {}

  /** The HBONE server's handler. */
  readonly handle = (c: HboneConnect): void => {
    const view = this.deps.view.current();
    const a = c.authority;
    const target = view.serviceTarget(a.host, a.port, a.isIp);
    // As its primary or as its canary (Istio 1.31): a canary is sent a share of the connections.
    if (!target || !view.frontedBy(target.service, this.deps.waypoint)) {
      c.reject('HBONE_SERVICE_NOT_BOUND');
      return;
    }
    const stream = c.accept();
    const info = c.connection;
    const source: SourceInfo = { principal: info.peerIdentity, address: info.peerAddress, port: info.peerPort };
    const remote = formatAuthority(info.peerAddress, info.peerPort);
    const flow = new Flow(this.deps, view, target, stream, source, a, remote);
    flow.start().catch((err: unknown) => {
      this.deps.onError(err, `serving ${a.text}`);
      stream.destroy();
    });
  };
}

/** One accepted tunnel, from classification to the proxy that serves it. */
class Flow {
  constructor(
    private readonly deps: WaypointListenerDeps,
    private readonly view: MeshView,
    private readonly target: ServiceTarget,
    private readonly stream: Duplex,
    private readonly source: SourceInfo,
    private readonly authority: { readonly host: string; readonly port: number; readonly isIp: boolean; readonly text: string },
    private readonly remote: string,
  ) {}

  private get connectAuthority(): string {
    return this.authority.text;
  }

  async start(): Promise<void> {
    const proto = this.target.port.appProtocol;
    switch (proto) {
      case 'http':
      case 'http2':
      case 'grpc': {
        // Bounded like header reading: a tunnel that never sends a byte must not sit here forever
        // (slowloris). On timeout it goes to the HTTP/1 codec, whose header timer answers 408.
        const s = await sniffStream(this.stream, { timeoutMs: this.deps.http.limits.requestHeadersTimeoutMs });
        if (this.stream.destroyed) return;
        if (s.endedWith) {
          this.stream.end();
          return;
        }
        const inner: InnerHttpProtocol = s.protocol === 'http2' ? 'http2' : 'http1';
        this.serveHttp(inner, proto === 'http' ? 'h1' : 'h2');
        return;
      }
      case 'tcp':
      case 'tls':
        await this.serveTcp(undefined);
        return;
      case 'unknown': {
        const s = await sniffStream(this.stream, { timeoutMs: this.deps.sniffTimeoutMs });
        if (this.stream.destroyed) return;
        if (s.protocol === 'tcp' || s.endedWith) {
          await this.serveTcp(s);
          return;
        }
        // Sniffed HTTP goes upstream in the protocol it came in (Envoy: USE_DOWNSTREAM_PROTOCOL).
        this.serveHttp(s.protocol, s.protocol === 'http2' ? 'h2' : 'h1');
        return;
      }
    }
  }

  private serveHttp(inner: InnerHttpProtocol, upstreamVersion: UpstreamHttpVersion): void {
    const a = this.authority;
    const d = this.deps;
    const facts = {
      waypoint: d.waypoint,
      views: d.view,
      routes: d.routes,
      chains: d.chains,
      host: a.host,
      port: a.port,
      isIp: a.isIp,
      connectAuthority: a.text,
      source: this.source,
      remote: this.remote,
      upstreamVersion,
    };
    d.http.serve(this.stream, inner, new TunnelConnectionSource(facts, this.view, this.target));
  }

  private serveTcp(sniffed: SniffOutcome | undefined): Promise<void> {
    return this.deps.tcp.serve(
      this.stream,
      {
        routes: this.deps.routes.tableFor(this.view, this.target),
        source: this.source,
        destinationHostname: this.target.service.hostname,
        downstreamLocalAddress: this.connectAuthority,
        downstreamRemoteAddress: this.remote,
      },
      sniffed?.endedWith,
    );
  }
}
