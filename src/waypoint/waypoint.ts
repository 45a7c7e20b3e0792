/**
 * A waypoint: the HBONE server on each of its addresses (`WaypointIR.addresses` : 15008),
 * presenting the waypoint's identity, whose handler ({@link WaypointListener}) sends each tunnel
 * to the HTTP or TCP proxy. Re-evaluated on every view change: addresses come and go, upstream
 * pools of vanished endpoints are dropped.
 *
 * Wiring, in the order things are needed: HBONE pool (upstream tunnels) → balancer (shared by HTTP
 * and TCP so both count toward least-request) → upstream HTTP client → HTTP and TCP proxies →
 * listener → HBONE server.
 */
import { waypointBaggage, withConnectHeaders } from './connect-baggage.js';
import type net from 'node:net';
import type { SpiffeUri, WaypointIR, WaypointRef } from '../config/ir.js';
import { FilterChain } from '../filter/chain.js';
import { HbonePool } from '../hbone/pool.js';
import type { HbonePoolStats } from '../hbone/pool.js';
import { HboneServer } from '../hbone/server.js';
import { SecurityChains } from '../security/security-chains.js';
import type { SecurityChainsOptions } from '../security/security-chains.js';
import type { HboneServerStats } from '../hbone/server.js';
import type { CertSource, TlsMaterial } from '../identity/tls-material.js';
import type { MeshView, ServiceTarget } from '../state/mesh-view.js';
import type { FilterFactory } from '../filter/api.js';
import type { NodeInfo } from '../wasm/properties.js';
import type { ViewSource } from '../state/view-source.js';
import type { AccessLogSink } from '../telemetry/access-record.js';
import type { WaypointTracer } from '../telemetry/waypoint-tracer.js';
import { CircuitBreakers } from '../upstream/circuit-breaker.js';
import { UpstreamHttpClient } from '../upstream/http-client.js';
import { OutlierDetectors } from '../upstream/outlier-detector.js';
import { FaultStats } from '../../filters/fault/fault-filter.js';
import { LeastRequestBalancer, endpointAddress } from '../upstream/lb.js';
import { HttpProxy } from './http-proxy.js';
import type { HttpLimits } from './http-limits.js';
import type { FilterChainProvider } from './listener.js';
import { WaypointListener } from './listener.js';
import type { RouteTableProvider } from './router.js';
import { CompiledRouteTables } from '../routing/route-tables.js';
import { DEFAULT_SNIFF_TIMEOUT_MS } from './sniff.js';
import { TcpProxy } from './tcp-proxy.js';
import { MeshHttpCalls } from '../wasm/mesh-http-calls.js';
import type { WasmRuntimeOptions } from '../wasm/wasm-runtime.js';
import { WasmRuntime } from '../wasm/wasm-runtime.js';

export interface WaypointOptions {
  readonly waypoint: WaypointRef;
  readonly view: ViewSource;
  readonly certs: CertSource;
  /** HBONE client pool for upstream tunnels; one is created (and closed with us) when omitted. */
  readonly pool?: HbonePool;
  /** Receives one record per HTTP request and per TCP connection. */
  readonly accessLog?: AccessLogSink;
  /** Spans per HTTP request and trace-context propagation; off when omitted. Its exporter is the caller's to close. */
  readonly tracer?: WaypointTracer;
  /** Route tables; default: compiled from the view's routes (`src/routing/`), else Istio's inbound default route. */
  readonly routes?: RouteTableProvider;
  /**
   * Filter chains per service port; default: the security filters (RequestAuthentication,
   * AuthorizationPolicy attached by targetRefs), compiled per view (`src/security/`).
   */
  readonly chains?: FilterChainProvider;
  /** Options of the default security chains (JWKS trust bundle, cache timings, shadow log). */
  readonly security?: SecurityChainsOptions;
  /** Wasm plugin host options (plugin log sink and level, module cache); http_call goes to mesh Services. */
  readonly wasm?: Omit<WasmRuntimeOptions, 'httpCalls' | 'node'>;
  /**
   * The CONNECT toward a destination ztunnel carries `baggage` with the waypoint's own metadata,
   * as istiod configures it only with `AMBIENT_ENABLE_BAGGAGE` (default off; `connect-baggage.ts`).
   */
  readonly connectBaggage?: boolean;
  readonly sniffTimeoutMs?: number;
  /**
   * Serve only these of the Gateway's addresses: this process is one replica of a waypoint whose
   * Gateway lists one address per replica (ztunnel spreads across them and skips a draining one).
   * Default: all of them.
   */
  readonly onlyAddresses?: readonly string[];
  /**
   * Listen on these addresses instead of the Gateway's (pod-IP mode, for a cluster where the
   * Gateway's address is its Service's hostname): the pod's IP, or a wildcard (`0.0.0.0`, `::`)
   * that accepts on every local address. The Gateway still gives the identity and HBONE port.
   */
  readonly bindAddresses?: readonly string[];
  /** HTTP limits inside tunnels; Envoy's defaults (src/waypoint/http-limits.ts) when omitted. */
  readonly httpLimits?: Partial<HttpLimits>;
  /** Random source for load balancing, weighted backends, retry back-off and faults (tests). */
  readonly random?: () => number;
  /** Envoy `max_active_faults` for the fault filter; unlimited when omitted (Envoy's default). */
  readonly maxActiveFaults?: number;
  /** Request body bytes kept for retries (Envoy's per-request buffer limit, default 1 MiB). */
  readonly retryBufferLimitBytes?: number;
  /**
   * Envoy's per-connection buffer limit (default 1 MiB, src/filter/buffer-limit.ts): the most body
   * a Wasm plugin may hold paused (413 past it), and the retry buffer when `retryBufferLimitBytes`
   * is not given.
   */
  readonly bufferLimitBytes?: number;
  /** Open downstream (HBONE) connections kept; more are closed on accept. Unlimited when omitted (Envoy). */
  readonly maxConnections?: number;
  readonly onError?: (err: unknown, context: string) => void;
}

const NO_FILTERS: FilterChainProvider = () => FilterChain.EMPTY;

export interface WaypointStats {
  readonly server: HboneServerStats;
  readonly pool: HbonePoolStats;
  /** TCP tunnels being proxied. */
  readonly tcpConnections: number;
}

export class Waypoint {
  readonly balancer: LeastRequestBalancer;
  readonly upstream: UpstreamHttpClient;
  /** Circuit breakers and outlier detectors per cluster (live across config snapshots). */
  readonly breakers = new CircuitBreakers();
  readonly outliers = new OutlierDetectors();
  readonly faultStats = new FaultStats();
  private readonly pool: HbonePool;
  private readonly ownsPool: boolean;
  /** The default filter chains (owned: closed with us); unset when `opts.chains` is given. */
  readonly security: SecurityChains | undefined;
  /** WasmPlugins of this waypoint (their shared data and metrics outlive config changes). */
  readonly wasm: WasmRuntime;
  private readonly http: HttpProxy;
  private readonly tcp: TcpProxy;
  private readonly server: HboneServer;
  /** Addresses listened on, for `identityFor` (per connection) and re-sync. */
  private addresses = new Set<string>();
  /** Bound to a wildcard: every local address is this waypoint's. */
  private readonly wildcard: boolean;
  private identity: SpiffeUri | undefined;
  private port = 0;
  private unsubscribe: (() => void) | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly onError: (err: unknown, context: string) => void;

  constructor(private readonly opts: WaypointOptions) {
    const onError = opts.onError ?? ((err: unknown, context: string) => console.error(`waypoint ${opts.waypoint.namespace}/${opts.waypoint.name}: ${context}:`, err));
    this.onError = onError;
    this.wildcard = (opts.bindAddresses ?? []).some(isWildcard);
    const random = opts.random ?? Math.random;
    this.ownsPool = opts.pool === undefined;
    this.pool = opts.pool ?? new HbonePool({ trust: opts.certs });
    this.balancer = new LeastRequestBalancer(random);
    const source = (): Promise<TlsMaterial> => {
      if (!this.identity) return Promise.reject(new Error('waypoint identity unknown (waypoint not in the view)'));
      return opts.certs.certificate(this.identity);
    };
    // Upstream connections leave from the waypoint's own address, so destinations see it (as in
    // Istio); from a wildcard bind the kernel picks the source.
    const localAddress = (): string | undefined => {
      const a: string | undefined = this.addresses.values().next().value;
      return a === undefined || isWildcard(a) ? undefined : a;
    };
    const dial = opts.connectBaggage ? withConnectHeaders(this.pool, { baggage: waypointBaggage(opts.waypoint) }) : this.pool.dial.bind(this.pool);
    this.upstream = new UpstreamHttpClient({ dial, source, localAddress });
    this.http = new HttpProxy(
      {
        lb: this.balancer,
        upstream: this.upstream,
        accessLog: opts.accessLog,
        tracer: opts.tracer,
        random,
        breakers: this.breakers,
        outliers: this.outliers,
        ...((opts.retryBufferLimitBytes ?? opts.bufferLimitBytes) !== undefined ? { replayLimitBytes: opts.retryBufferLimitBytes ?? opts.bufferLimitBytes } : {}),
      },
      opts.httpLimits,
    );
    this.tcp = new TcpProxy({ lb: this.balancer, dial, source, localAddress, accessLog: opts.accessLog, random });
    // Compiled HTTPRoute/VirtualService tables; ports without routes keep the inbound default route.
    const faults = { stats: this.faultStats, ...(opts.maxActiveFaults !== undefined ? { maxActiveFaults: opts.maxActiveFaults } : {}) };
    const compiled = opts.routes ? undefined : new CompiledRouteTables({ lb: this.balancer, upstream: this.upstream, random }, faults, opts.waypoint);
    const wasm = new WasmRuntime({
      ...opts.wasm,
      self: opts.waypoint,
      ...(opts.bufferLimitBytes !== undefined ? { bufferLimitBytes: opts.bufferLimitBytes } : {}),
      httpCalls: new MeshHttpCalls({ view: opts.view, lb: this.balancer, upstream: this.upstream }),
      node: waypointNode(opts),
      // Plugins start loading (off the event loop) when a view names them, not at first use.
      view: opts.view,
      waypoint: opts.waypoint,
    });
    this.wasm = wasm;
    // Route policies (CORS, fault) act as filters in their phases, so the compiled tables add them
    // to the chains; WasmPlugins join the same way, each in its WASM_* phase.
    const routeFilters = compiled?.routeFilters;
    const extraFilters = (view: MeshView, target: ServiceTarget): FilterFactory[] =>
      routeFilters ? [...routeFilters(view, target), ...wasm.factoriesFor(view, target)] : wasm.factoriesFor(view, target);
    this.security = opts.chains ? undefined : new SecurityChains({ ...opts.security, routeFilters: extraFilters, self: opts.waypoint, ...(compiled ? { routeOf: compiled.routeOf } : {}) });
    const listener = new WaypointListener({
      waypoint: opts.waypoint,
      view: opts.view,
      http: this.http,
      tcp: this.tcp,
      routes: opts.routes ?? (compiled as CompiledRouteTables),
      chains: opts.chains ?? this.security?.provider ?? NO_FILTERS,
      sniffTimeoutMs: opts.sniffTimeoutMs ?? DEFAULT_SNIFF_TIMEOUT_MS,
      onError,
    });
    this.server = new HboneServer({
      certSource: opts.certs,
      identityFor: (local) => (this.addresses.has(local) || this.wildcard ? this.identity : undefined),
      handler: listener.handle,
      onError,
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    });
  }

  /** Listens on the waypoint's addresses and follows view changes. */
  async start(): Promise<void> {
    // Subscribed first so no change is missed; changes apply one at a time, in order. A failed
    // change (an address that cannot be bound) is reported and the next one still applies.
    this.unsubscribe = this.opts.view.onChange((view) => {
      this.syncing = this.syncing.then(() => this.sync(view)).catch((err: unknown) => this.onError(err, 'applying a view change'));
    });
    const first = this.sync(this.opts.view.current());
    this.syncing = first.catch(() => undefined);
    await first;
  }

  /** Where the HBONE server listens right now. */
  listening(): net.AddressInfo[] {
    return this.server.listening();
  }

  /** Counters for health metrics and the admin API (cheap reads, no walks). */
  stats(): WaypointStats {
    return { server: this.server.stats(), pool: this.pool.stats(), tcpConnections: this.tcp.openConnections };
  }

  /**
   * Stops accepting and starts draining (admin `POST /drain_listeners`): listeners close and view
   * changes no longer reopen them, HBONE sessions and inner HTTP/2 sessions get GOAWAY, HTTP/1
   * responses say `connection: close`; open tunnels finish their requests until `close`.
   */
  async drainListeners(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.syncing.catch(() => undefined);
    this.server.drain();
    this.http.drain();
  }

  /** True once draining has begun (admin, SIGTERM). */
  get draining(): boolean {
    return this.server.draining;
  }

  /** Drains every part, then forces what is left at the deadline. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.syncing.catch(() => undefined);
    // HTTP drains first (idle HTTP/1 tunnels end, GOAWAY inside), then the HBONE server waits for
    // every tunnel, including ones accepted just before the drain and still being sniffed: the
    // HTTP proxy does not know those yet, so it must not force-close on its own count first.
    const started = Date.now();
    this.http.drain();
    await Promise.all([this.server.close(deadlineMs), this.tcp.close(deadlineMs)]);
    await this.http.close(Math.max(0, deadlineMs - (Date.now() - started)));
    await this.upstream.close(deadlineMs);
    this.outliers.close();
    if (this.ownsPool) await this.pool.close(deadlineMs);
    await this.security?.close();
    this.wasm.close();
  }

  private async sync(view: MeshView): Promise<void> {
    if (this.closed) return;
    const wp: WaypointIR | undefined = view.waypoint(this.opts.waypoint.namespace, this.opts.waypoint.name);
    const only = this.opts.onlyAddresses;
    const bind = this.opts.bindAddresses;
    // Pod-IP mode listens only while the Gateway exists (it gives the identity and the port).
    const want = new Set(bind ? (wp ? bind : []) : (wp?.addresses ?? []).filter((a) => only === undefined || only.includes(a)));
    const port = wp?.hbonePort ?? this.port;
    this.identity = wp?.identity;
    const portChanged = this.port !== 0 && port !== this.port;
    for (const a of this.addresses) {
      if (!want.has(a) || portChanged) await this.server.removeListener(a, this.port);
    }
    // Known before listening, so a connection accepted right away finds its identity.
    this.addresses = want;
    this.port = port;
    for (const a of want) await this.server.addListener(a, port);
    if (wp) this.upstream.retain(liveEndpoints(view, wp));
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Endpoint addresses of every service port this waypoint fronts. */
function liveEndpoints(view: MeshView, wp: WaypointIR): Set<string> {
  const live = new Set<string>();
  for (const s of view.servicesOfWaypoint(wp)) {
    for (const p of s.ports) for (const ep of view.endpoints(s, p.port)) live.add(endpointAddress(ep));
  }
  return live;
}

/** Envoy's node identity as Istio sets it for a waypoint, for plugins reading `node.*`. */
function waypointNode(opts: WaypointOptions): NodeInfo {
  const { namespace, name } = opts.waypoint;
  const view = opts.view.current();
  const bound = opts.bindAddresses?.find((a) => !isWildcard(a));
  const ip = bound ?? view.waypoint(namespace, name)?.addresses[0] ?? '127.0.0.1';
  const domain = view.snapshot.mesh.clusterDomain;
  return {
    id: `waypoint~${ip}~${name}.${namespace}~${namespace}.svc.${domain}`,
    cluster: `${name}.${namespace}`,
    metadata: { NAME: name, NAMESPACE: namespace, WORKLOAD_NAME: name, CLUSTER_ID: 'Kubernetes', MESH_ID: view.snapshot.mesh.trustDomain, INSTANCE_IPS: ip },
  };
}
