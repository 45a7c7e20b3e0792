/**
 * TCP through the waypoint (a `tcp`/`tls` service port, or an unknown one that did not sniff as
 * HTTP): Envoy's `tcp_proxy` to `inbound-vip|<port>|tcp|<hostname>`. Picks an endpoint
 * (least-request, counting connections), opens an HBONE tunnel to it (plain TCP for an
 * out-of-mesh workload), and splices bytes both ways with backpressure and half-close. One access
 * record per connection.
 *
 * The client's CONNECT was already answered 200, so failures here (no endpoint: UH, connect
 * failure: UF, no route: NR) can only show as a reset of the tunnel, as with Envoy.
 */
import type { Duplex } from 'node:stream';
import type { SourceInfo } from '../filter/api.js';
import { HBONE_PORT } from '../config/ir.js';
import type { HboneDial, HboneDialResult } from '../hbone/types.js';
import type { TlsMaterial } from '../identity/tls-material.js';
import { connectTcp } from '../net/sockets.js';
import { ByteTally, splice } from '../net/splice.js';
import { inspectClientHello } from '../net/tls-inspector.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { AccessLogSink, AccessRecord } from '../telemetry/access-record.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import { endpointAddress } from '../upstream/lb.js';
import type { RouteTable } from './router.js';
import { selectBackend } from './router.js';

export interface TcpProxyDeps {
  readonly lb: LeastRequestBalancer;
  readonly dial: (d: HboneDial) => Promise<HboneDialResult>;
  readonly source: () => Promise<TlsMaterial>;
  /** Source address for upstream connections (the waypoint's own address), read per connection. */
  readonly localAddress?: () => string | undefined;
  readonly accessLog: AccessLogSink | undefined;
  readonly random: () => number;
  readonly connectTimeoutMs?: number;
}

/** What one downstream tunnel carrying TCP needs. */
export interface TcpConnection {
  readonly routes: RouteTable;
  readonly source: SourceInfo;
  readonly destinationHostname: string;
  readonly downstreamLocalAddress: string;
  readonly downstreamRemoteAddress: string;
}

type Opened = { readonly ok: true; readonly stream: Duplex } | { readonly ok: false; readonly flag: string; readonly message: string };

export class TcpProxy {
  private readonly open = new Set<Duplex>();

  constructor(private readonly deps: TcpProxyDeps) {}

  /**
   * Proxies one tunnel until both directions are done. `endedWith`: bytes the client sent before
   * half-closing while its protocol was being sniffed (they could not be put back).
   */
  async serve(down: Duplex, conn: TcpConnection, endedWith?: Buffer): Promise<void> {
    const start = Date.now();
    const flags: string[] = [];
    let upstreamHost: string | undefined;
    let cluster: string | undefined;
    let principal: string | undefined;
    let received = 0;
    let sent = 0;
    let details: string | undefined;
    let openReported = false;
    const tally = new ByteTally();
    const record = (opened: boolean): AccessRecord => ({
      kind: 'tcp',
      startTime: new Date(start).toISOString(),
      responseFlags: flags.length === 0 ? '-' : flags.join(','),
      ...(details !== undefined ? { connectionTerminationDetails: details } : {}),
      bytesReceived: received,
      bytesSent: sent,
      durationMs: Date.now() - start,
      upstreamHost,
      upstreamCluster: cluster,
      downstreamLocalAddress: conn.downstreamLocalAddress,
      downstreamRemoteAddress: conn.downstreamRemoteAddress,
      sourcePrincipal: conn.source.principal,
      destinationService: conn.destinationHostname,
      destinationPrincipal: principal,
      ...(opened ? { openReported: true as const } : {}),
      tally,
    });
    this.open.add(down);
    try {
      // TLS routes match on the server name: read the ClientHello first (Envoy's tls_inspector).
      let sni: string | undefined;
      if (conn.routes.inspectsSni) {
        const hello = await inspectClientHello(down, endedWith);
        sni = hello.sni;
        endedWith = hello.endedWith;
      }
      const decision = conn.routes.routeTcp(sni);
      const backend = decision ? selectBackend(decision, this.deps.random) : undefined;
      if (!backend) {
        flags.push('NR');
        down.destroy();
        return;
      }
      cluster = backend.cluster;
      // A DestinationRule policy (round robin, random, consistent hash by source IP) picks like HTTP does.
      const ep = backend.picker ? backend.picker.pick(conn) : this.deps.lb.pick(backend.endpoints);
      if (!ep) {
        flags.push('UH');
        down.destroy();
        return;
      }
      upstreamHost = endpointAddress(ep);
      principal = ep.workload.identity;
      this.deps.lb.begin(ep);
      try {
        const up = await this.connect(ep).catch((err: unknown): Opened => ({ ok: false, flag: 'UF', message: String(err) }));
        if (!up.ok) {
          flags.push(up.flag);
          details = up.message;
          down.destroy();
          return;
        }
        if (down.destroyed) {
          up.stream.destroy();
          flags.push('DC');
          return;
        }
        if (endedWith) {
          // The client's half-close was consumed by sniffing: replay it.
          received += endedWith.length;
          up.stream.end(endedWith);
        }
        const spliced = splice(down, up.stream, tally);
        down.resume();
        // Counted as opened now (Istio's istio_tcp_connections_opened_total), not when it ends.
        const opened = this.deps.accessLog?.opened;
        if (opened) {
          opened(record(false));
          openReported = true;
        }
        const r = await spliced;
        received += r.aToB;
        sent = r.bToA;
        if (r.error) details = r.error.message;
      } finally {
        this.deps.lb.end(ep);
      }
    } finally {
      this.open.delete(down);
      this.deps.accessLog?.(record(openReported));
    }
  }

  /** Open TCP tunnels (tests, admin). */
  get openConnections(): number {
    return this.open.size;
  }

  /** Waits for open connections until the deadline, then resets them. */
  async close(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const s of this.open) s.destroy();
  }

  private async connect(ep: Endpoint): Promise<Opened> {
    const w = ep.workload;
    const localAddress = this.deps.localAddress?.();
    if (w.protocol === 'TCP') {
      const r = await connectTcp({
        host: w.ip,
        port: ep.targetPort,
        ...(this.deps.connectTimeoutMs !== undefined ? { timeoutMs: this.deps.connectTimeoutMs } : {}),
        ...(localAddress ? { localAddress } : {}),
      });
      return r.ok ? { ok: true, stream: r.value } : { ok: false, flag: 'UF', message: r.message };
    }
    const r = await this.deps.dial({
      source: await this.deps.source(),
      expectedIdentities: [w.identity],
      address: w.ip,
      port: HBONE_PORT,
      authority: endpointAddress(ep),
      ...(localAddress ? { localAddress } : {}),
    });
    return r.ok ? { ok: true, stream: r.stream } : { ok: false, flag: 'UF', message: r.message };
  }
}
