/**
 * One node's L4 ztunnel: for every local pod of its node it listens on
 *   - `podIP:15008` HBONE inbound (local HBONE workloads only), presenting that pod's identity
 *     (the server picks the certificate by the address a connection arrived at), and
 *   - `podIP:15080` SOCKS5 outbound, the app's way into the mesh.
 *
 * This mirrors ztunnel's in-pod mode, where these listeners live inside each pod's network
 * namespace: a connection to a pod's listener is from that pod. On one loopback host every pod
 * can reach every listener, so the SOCKS5 source is: the local pod whose IP the client connected
 * FROM (a client that binds its pod IP, like `ambient curl`), else the pod that owns the listener
 * address. Both are as trustworthy as the loopback they share; no pod identity is claimed beyond
 * what the address says.
 *
 * Listeners follow the view: new local pods get theirs, removed pods lose theirs (already open
 * connections run to their end); other pods' listeners and connections are untouched.
 */
import type { Server, Socket } from 'node:net';
import type { WorkloadIR } from '../config/ir.js';
import { HBONE_PORT } from '../config/ir.js';
import { HbonePool } from '../hbone/pool.js';
import type { HbonePoolStats } from '../hbone/pool.js';
import { HboneServer } from '../hbone/server.js';
import type { HboneServerStats } from '../hbone/server.js';
import type { CertSource } from '../identity/tls-material.js';
import { closeTcpServer, createTcpServer, listenTcp, resetSocket } from '../net/sockets.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import type { HboneConnect } from '../hbone/types.js';
import type { ConnectionRecordSink } from './connection-record.js';
import type { L4DryRunResult } from './l4-authz.js';
import type { FixedOutboundSpec } from './fixed-outbound.js';
import { FixedOutboundListener } from './fixed-outbound.js';
import { serveInbound } from './inbound.js';
import { unmapV4 } from '../net/cidr.js';
import type { HboneDialer } from './outbound.js';
import { serveOutbound } from './outbound.js';
import { WaypointAddresses } from './waypoint-addresses.js';
import { INBOUND_PLAINTEXT_PORT, SOCKS5_PORT } from './ports.js';
import { InboundConnections } from './inbound-connections.js';
import { LiveConnections } from './live-connections.js';
import type { FixedInboundSpec } from './fixed-inbound.js';
import { FixedInboundListener } from './fixed-inbound.js';
import type { PlaintextListenerContext } from './proxy-inbound-listeners.js';
import { ProxyInboundListeners } from './proxy-inbound-listeners.js';
import { acceptSocks5, SOCKS5_REPLY, writeSocks5Reply } from './socks5.js';

export interface ZtunnelOptions {
  readonly node: string;
  readonly view: ViewSource;
  readonly certs: CertSource;
  /** HBONE client pool; one is created (and closed with the ztunnel) when not given. */
  readonly pool?: HboneDialer;
  /** One record per connection; none when absent. */
  readonly accessLog?: ConnectionRecordSink;
  readonly hbonePort?: number;
  readonly socksPort?: number;
  readonly socksHandshakeTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** What dry-run L4 policies would have done (never enforced); default one line on stderr. */
  readonly onDryRun?: (result: L4DryRunResult, connect: HboneConnect) => void;
  /** Listener failures after start (a pod's address already taken...); default console.error. */
  readonly onError?: (err: unknown, context: string) => void;
  /** Fixed-destination outbound listeners (see fixed-outbound.ts); bound at start, failing it if one cannot be. */
  readonly fixedOutbound?: readonly FixedOutboundSpec[];
  /** Open inbound HBONE connections kept across pods; more are closed on accept. Unlimited when omitted. */
  readonly maxConnections?: number;
  /** Per-pod plaintext inbound port (PROXY protocol v2, proxy-inbound-listeners.ts); default 15006. */
  readonly plaintextPort?: number;
  /** Fixed-destination plaintext inbound listeners (fixed-inbound.ts); bound at start. */
  readonly fixedInbound?: readonly FixedInboundSpec[];
  /** Draws a Service's waypoint from its weighted (canary) set; default fair random per connection. Tests seed it. */
  readonly pickWaypoint?: (n: number) => number;
}

export interface ZtunnelStats {
  readonly server: HboneServerStats;
  /** The client pool, when it is an {@link HbonePool}. */
  readonly pool?: HbonePoolStats;
  /** Open SOCKS5 client connections. */
  readonly socksClients: number;
}

export class Ztunnel {
  private readonly hbone: HboneServer;
  private readonly pool: HboneDialer;
  private readonly ownPool: HbonePool | undefined;
  private readonly hbonePort: number;
  private readonly socksPort: number;
  /** Pod IP → its SOCKS5 server. */
  private readonly socksServers = new Map<string, Server>();
  /** Health of waypoint replicas' addresses, shared by every outbound connection. */
  private readonly waypointAddresses = new WaypointAddresses();
  /** Pod IPs with an HBONE listener. */
  private readonly hboneIps = new Set<string>();
  /** Open SOCKS5 client sockets, forced closed at the drain deadline. */
  private readonly socksClients = new Set<Socket>();
  private readonly fixed: FixedOutboundListener[] = [];
  private readonly fixedIn: FixedInboundListener[] = [];
  /** Open inbound connections, re-authorized when L4 policy or PeerAuthentication changes. */
  private readonly inboundConnections = new InboundConnections();
  private readonly plaintext: ProxyInboundListeners;
  private readonly plaintextCtx: PlaintextListenerContext;
  /** Outstanding connection handlers, awaited by close(). */
  private readonly inflight = new Set<Promise<void>>();
  /** Reconciles run one at a time, in order of view changes. */
  private reconciling: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private closing = false;
  /** Open connections, for the admin dump's `workloadState`. */
  readonly live = new LiveConnections();
  private readonly recordSink: ConnectionRecordSink;

  constructor(private readonly opts: ZtunnelOptions) {
    // Every record passes the live table first (admin connections view), then the access log.
    this.recordSink = this.live.wrap(opts.accessLog);
    this.hbonePort = opts.hbonePort ?? HBONE_PORT;
    this.socksPort = opts.socksPort ?? SOCKS5_PORT;
    this.ownPool = opts.pool ? undefined : new HbonePool({ trust: opts.certs });
    this.pool = opts.pool ?? (this.ownPool as HbonePool);
    this.hbone = new HboneServer({
      certSource: opts.certs,
      // The identity is that of the local HBONE pod the connection was addressed to.
      identityFor: (localAddress) => this.localHbonePod(this.opts.view.current(), localAddress)?.identity,
      handler: (connect) => {
        this.track(
          serveInbound(connect, {
            node: opts.node,
            view: () => this.opts.view.current(),
            recordSink: this.recordSink,
            ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
            onDryRun: opts.onDryRun ?? ((r, c) => logDryRun(opts.node, r, c)),
            tracker: this.inboundConnections,
          }),
        );
      },
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    });
    this.plaintextCtx = {
      node: opts.node,
      view: () => this.opts.view.current(),
      inbound: {
        tracker: this.inboundConnections,
        recordSink: this.recordSink,
        ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      },
      track: (p) => this.track(p),
      clients: this.socksClients,
      onError: (err, context) => this.report(err, context),
    };
    this.plaintext = new ProxyInboundListeners(opts.plaintextPort ?? INBOUND_PLAINTEXT_PORT, this.plaintextCtx);
  }

  /** Opens the listeners of the current view's local pods; rejects if one cannot be bound. */
  async start(): Promise<void> {
    this.inboundConnections.onView(this.opts.view.current());
    this.unsubscribe = this.opts.view.onChange((view) => {
      // Before listeners change: open connections a new policy denies close now (Istio's ztunnel).
      this.inboundConnections.onView(view);
      this.reconciling = this.reconciling
        .then(() => this.reconcile(view, false))
        .catch((err: unknown) => this.report(err, 'applying a view change'));
    });
    const first = this.reconciling.then(() => this.reconcile(this.opts.view.current(), true));
    this.reconciling = first.catch(() => undefined);
    await first;
    for (const spec of this.opts.fixedOutbound ?? []) {
      const l = new FixedOutboundListener(spec, {
        node: this.opts.node,
        view: () => this.opts.view.current(),
        outbound: {
          certs: this.opts.certs,
          dialer: this.pool,
          recordSink: this.recordSink,
          ...(this.opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}),
        },
        track: (p) => this.track(p),
        clients: this.socksClients,
      });
      await l.listen();
      this.fixed.push(l);
    }
    for (const spec of this.opts.fixedInbound ?? []) {
      const l = new FixedInboundListener(spec, this.plaintextCtx);
      await l.listen();
      this.fixedIn.push(l);
    }
  }

  /** Where the fixed-destination inbound listeners are bound (`host:port`). */
  fixedInboundAddresses(): string[] {
    return this.fixedIn.map((l) => l.address()).filter((a): a is string => a !== undefined);
  }

  /** Where the fixed-destination outbound listeners are bound (`host:port`). */
  fixedOutboundAddresses(): string[] {
    return this.fixed.map((l) => l.address()).filter((a): a is string => a !== undefined);
  }

  /** Addresses currently listened on, for admin pages and tests. */
  listening(): { readonly hbone: readonly string[]; readonly socks: readonly string[]; readonly plaintext: readonly string[] } {
    return {
      plaintext: this.plaintext.addresses(),
      hbone: [...this.hboneIps].map((ip) => `${ip}:${this.hbonePort}`),
      socks: [...this.socksServers.keys()].map((ip) => `${ip}:${this.socksPort}`),
    };
  }

  /** Counters for health metrics and the admin API (cheap reads, no walks). */
  stats(): ZtunnelStats {
    return {
      server: this.hbone.stats(),
      ...(this.pool instanceof HbonePool ? { pool: this.pool.stats() } : {}),
      socksClients: this.socksClients.size,
    };
  }

  /**
   * Stops accepting (admin `POST /drain_listeners`): every listener closes and view changes no
   * longer reopen them; open connections carry on until `close`.
   */
  async drainListeners(): Promise<void> {
    this.unsubscribe?.();
    await this.reconciling;
    for (const server of this.socksServers.values()) server.close();
    this.socksServers.clear();
    for (const l of this.fixed) l.stopAccepting();
    for (const l of this.fixedIn) l.stopAccepting();
    this.plaintext.stopAccepting();
    for (const ip of this.hboneIps) await this.hbone.removeListener(ip, this.hbonePort);
    this.hboneIps.clear();
  }

  /** Resolves once every view change seen so far has been applied to the listeners. */
  settled(): Promise<void> {
    return this.reconciling;
  }

  /**
   * Drains: stop accepting everywhere, let open connections finish until `deadlineMs`, then
   * force them closed.
   */
  async close(deadlineMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unsubscribe?.();
    await this.reconciling;
    const started = Date.now();
    // Every wait below is bounded: a peer that never finishes must not hold shutdown hostage.
    const bounded = (p: Promise<unknown>, ms: number): Promise<unknown> => Promise.race([p, delay(ms)]);
    const socks = [...this.socksServers.values()];
    this.socksServers.clear();
    this.hboneIps.clear();
    const hboneClosed = this.hbone.close(deadlineMs);
    const socksClosed = Promise.all([
      ...socks.map((s) => closeTcpServer(s, deadlineMs)),
      ...this.fixed.map((l) => l.close(deadlineMs)),
      ...this.fixedIn.map((l) => l.close(deadlineMs)),
      this.plaintext.close(deadlineMs),
    ]);
    await bounded(Promise.all([...this.inflight]), deadlineMs);
    // Forced: reset, so a client sees its connection aborted rather than a clean end of data.
    for (const c of this.socksClients) resetSocket(c);
    await bounded(Promise.all([hboneClosed, socksClosed]), FORCE_GRACE_MS);
    if (this.ownPool) await bounded(this.ownPool.close(Math.max(0, deadlineMs - (Date.now() - started))), deadlineMs + FORCE_GRACE_MS);
    // Handlers end promptly once their sockets are gone.
    await bounded(Promise.all([...this.inflight]), FORCE_GRACE_MS);
  }

  private localHbonePod(view: MeshView, ip: string): WorkloadIR | undefined {
    const w = view.workloadByIp(ip);
    return w && w.node === this.opts.node && w.protocol === 'HBONE' ? w : undefined;
  }

  private async reconcile(view: MeshView, failHard: boolean): Promise<void> {
    if (this.closing) return;
    const local = view.workloadsOnNode(this.opts.node);
    const wantSocks = new Set(local.map((w) => w.ip));
    const wantHbone = new Set(local.filter((w) => w.protocol === 'HBONE').map((w) => w.ip));
    const errors: unknown[] = [];

    for (const [ip, server] of this.socksServers) {
      if (wantSocks.has(ip)) continue;
      this.socksServers.delete(ip);
      // Stop accepting; connections already open finish on their own.
      server.close();
    }
    for (const ip of this.hboneIps) {
      if (wantHbone.has(ip)) continue;
      this.hboneIps.delete(ip);
      await this.hbone.removeListener(ip, this.hbonePort);
    }
    for (const ip of wantHbone) {
      if (this.hboneIps.has(ip)) continue;
      try {
        await this.hbone.addListener(ip, this.hbonePort);
        this.hboneIps.add(ip);
      } catch (err) {
        errors.push(err);
        this.report(err, `HBONE listener ${ip}:${this.hbonePort}`);
      }
    }
    for (const ip of wantSocks) {
      if (this.socksServers.has(ip)) continue;
      const server = createTcpServer((socket) => this.onSocks(socket, ip));
      try {
        await listenTcp(server, ip, this.socksPort);
        server.on('error', (err) => this.report(err, `SOCKS5 listener ${ip}:${this.socksPort}`));
        this.socksServers.set(ip, server);
      } catch (err) {
        errors.push(err);
        this.report(err, `SOCKS5 listener ${ip}:${this.socksPort}`);
      }
    }
    errors.push(...(await this.plaintext.reconcile(wantHbone)));
    if (failHard && errors.length > 0) {
      throw new Error(`ztunnel ${this.opts.node}: ${errors.length} listener(s) failed: ${errors.map(String).join('; ')}`);
    }
  }

  private onSocks(socket: Socket, listenerIp: string): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.socksClients.add(socket);
    socket.once('close', () => this.socksClients.delete(socket));
    this.track(this.handleSocks(socket, listenerIp));
  }

  private async handleSocks(socket: Socket, listenerIp: string): Promise<void> {
    const hs = await acceptSocks5(socket, this.opts.socksHandshakeTimeoutMs !== undefined ? { timeoutMs: this.opts.socksHandshakeTimeoutMs } : {});
    if (!hs.ok) return;
    // One view for the rest of this connection.
    const view = this.opts.view.current();
    const source = this.sourceOf(view, socket, listenerIp);
    if (!source) {
      // The pod went away between accept and handshake.
      writeSocks5Reply(socket, SOCKS5_REPLY.GENERAL_FAILURE);
      return;
    }
    await serveOutbound(socket, source, hs.request, {
      view,
      certs: this.opts.certs,
      dialer: this.pool,
      waypointAddresses: this.waypointAddresses,
      ...(this.opts.pickWaypoint ? { pickWaypoint: this.opts.pickWaypoint } : {}),
      recordSink: this.recordSink,
      ...(this.opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.opts.connectTimeoutMs } : {}),
    });
  }

  /** The connecting address if it is a local pod, else the listener's pod (see the file comment). */
  private sourceOf(view: MeshView, socket: Socket, listenerIp: string): WorkloadIR | undefined {
    const local = (ip: string | undefined): WorkloadIR | undefined => {
      const w = ip ? view.workloadByIp(ip) : undefined;
      return w && w.node === this.opts.node ? w : undefined;
    };
    return local(socket.remoteAddress ? unmapV4(socket.remoteAddress) : undefined) ?? local(listenerIp);
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => this.report(err, 'connection handler'));
    this.inflight.add(guarded);
    void guarded.finally(() => this.inflight.delete(guarded));
  }

  private report(err: unknown, context: string): void {
    if (this.opts.onError) this.opts.onError(err, context);
    else console.error(`ztunnel ${this.opts.node}: ${context}:`, err);
  }
}

function logDryRun(node: string, r: L4DryRunResult, c: HboneConnect): void {
  const verdict = r.matched ? (r.action === 'ALLOW' ? 'would allow' : 'would deny') : 'would not match';
  process.stderr.write(
    `ztunnel ${node}: dry-run policy ${r.policy} (${r.action}) ${verdict} ${c.connection.peerIdentity} ${c.connection.peerAddress} -> ${c.authority.text}\n`,
  );
}

/** How long forced closes may take to settle after the deadline. */
const FORCE_GRACE_MS = 1000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
