/**
 * Istio's standard metric labels, derived from access records and the config snapshot.
 *
 * Values come only from config identities (workloads, services, waypoints, principals from
 * certificates our CA issued) and bounded enums (response code, flags, protocol); paths, headers
 * and ports of clients never reach a label, so series stay bounded whatever the traffic.
 * `unknown` where a peer is not in the config, as Istio does.
 *
 * A label set is resolved once per distinct peer pair, outcome and snapshot, then reused as the
 * same {@link SeriesKey} object: a request costs two map lookups and no label object.
 */
import type { WaypointIR, WorkloadIR } from '../config/ir.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ConnectionRecord } from '../ztunnel/connection-record.js';
import type { AccessRecord } from './access-record.js';
import type { SeriesKey } from './istio-series.js';
import { seriesKeyOf } from './istio-series.js';

export const PEER_LABEL_NAMES = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
] as const;

export const REQUEST_LABEL_NAMES = [
  ...PEER_LABEL_NAMES,
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export const TCP_LABEL_NAMES = [...PEER_LABEL_NAMES, 'request_protocol', 'response_flags', 'connection_security_policy'] as const;

export type PeerLabels = Readonly<Record<(typeof PEER_LABEL_NAMES)[number], string>>;
export type IstioRequestLabels = Readonly<Record<(typeof REQUEST_LABEL_NAMES)[number], string>>;
export type IstioTcpLabels = Readonly<Record<(typeof TCP_LABEL_NAMES)[number], string>>;

/** `reporter`: the waypoint's value (stats plugin `SERVER_GATEWAY`) and ztunnel's two. */
export type Reporter = 'waypoint' | 'source' | 'destination';

export const UNKNOWN = 'unknown';
/** Istio's default cluster ID (`CLUSTER_ID`), the only cluster of a local mesh. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** Peer caches stop growing here (a guard; config-bounded keys never get near it). */
const MAX_CACHED_PEERS = 10_000;

interface PeerSide {
  readonly workload: string;
  readonly namespace: string;
  readonly principal: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
}

const UNKNOWN_SIDE: PeerSide = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  principal: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
});

function workloadSide(w: WorkloadIR): PeerSide {
  return {
    workload: w.workloadName,
    namespace: w.namespace,
    principal: w.identity,
    app: w.labels['app'] ?? w.labels['app.kubernetes.io/name'] ?? UNKNOWN,
    version: w.labels['version'] ?? w.labels['app.kubernetes.io/version'] ?? UNKNOWN,
    canonicalService: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
  };
}

/** A waypoint as a peer: Istio's waypoint Deployment is named after its Gateway. */
function waypointSide(wp: WaypointIR): PeerSide {
  return {
    workload: wp.name,
    namespace: wp.namespace,
    principal: wp.identity,
    app: UNKNOWN,
    version: UNKNOWN,
    canonicalService: wp.name,
    canonicalRevision: 'latest',
  };
}

/** The peer at `ip`, if the config knows it; `principal` (when verified) must match its identity. */
function sideAt(view: MeshView, ip: string | undefined, principal: string | undefined): PeerSide {
  if (!ip) return principal ? { ...UNKNOWN_SIDE, principal } : UNKNOWN_SIDE;
  const w = view.workloadByIp(ip);
  if (w && (principal === undefined || w.identity === principal)) return workloadSide(w);
  const wp = view.waypointByAddress(ip);
  if (wp && (principal === undefined || wp.identity === principal)) return waypointSide(wp);
  return principal ? { ...UNKNOWN_SIDE, principal } : UNKNOWN_SIDE;
}

function peerLabels(view: MeshView, reporter: Reporter, src: PeerSide, dst: PeerSide, serviceHost: string | undefined): PeerLabels {
  const svc = serviceHost ? view.serviceByHostname(serviceHost) : undefined;
  return Object.freeze({
    reporter,
    source_workload: src.workload,
    source_workload_namespace: src.namespace,
    source_principal: src.principal,
    source_app: src.app,
    source_version: src.version,
    source_canonical_service: src.canonicalService,
    source_canonical_revision: src.canonicalRevision,
    source_cluster: src === UNKNOWN_SIDE ? UNKNOWN : DEFAULT_CLUSTER_ID,
    destination_workload: dst.workload,
    destination_workload_namespace: dst.namespace,
    destination_principal: dst.principal,
    destination_app: dst.app,
    destination_version: dst.version,
    // A service host not in the config is not a label value (it could be anything a client named).
    destination_service: svc?.hostname ?? UNKNOWN,
    destination_service_name: svc?.name ?? UNKNOWN,
    destination_service_namespace: svc?.namespace ?? UNKNOWN,
    destination_canonical_service: dst.canonicalService,
    destination_canonical_revision: dst.canonicalRevision,
    destination_cluster: dst === UNKNOWN_SIDE ? UNKNOWN : DEFAULT_CLUSTER_ID,
  });
}

/** `ip` of `ip:port` / `[v6]:port`; undefined when absent. */
export function hostOf(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  const i = addr.lastIndexOf(':');
  if (i <= 0) return addr;
  const host = addr.slice(0, i);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** A resolved peer pair and the full label sets seen with it, by `protocol|code|flags`. */
interface PeerEntry {
  readonly labels: PeerLabels;
  readonly requests: Map<string, SeriesKey<IstioRequestLabels>>;
  readonly tcp: Map<string, SeriesKey<IstioTcpLabels>>;
}

function peerEntry(labels: PeerLabels): PeerEntry {
  return { labels, requests: new Map(), tcp: new Map() };
}

/** Caches a newly resolved label set (callers look up first, so the labels are built on a miss only). */
function remember<L extends Readonly<Record<string, string>>>(m: Map<string, SeriesKey<L>>, key: string, labels: L): SeriesKey<L> {
  const k = seriesKeyOf(labels);
  if (m.size < MAX_CACHED_PEERS) m.set(key, k);
  return k;
}

/** Every input of {@link WaypointLabeler.request}, and what it resolved to. */
interface LastRequest {
  readonly view: MeshView;
  readonly downstreamRemoteAddress: string;
  readonly upstreamHost: string | undefined;
  readonly responseCode: number | undefined;
  readonly responseFlags: string;
  readonly sourcePrincipal: string | undefined;
  readonly destinationPrincipal: string | undefined;
  readonly destinationService: string | undefined;
  readonly downstreamLocalAddress: string;
  readonly grpc: boolean | undefined;
  readonly grpcStatus: number | undefined;
  readonly key: SeriesKey<IstioRequestLabels>;
}

/** Values resolved once per key and snapshot (a new snapshot starts afresh). */
class PerViewCache<T> {
  private view: MeshView | undefined;
  private readonly byKey = new Map<string, T>();

  lookup(view: MeshView, key: string): T | undefined {
    if (view !== this.view) {
      this.view = view;
      this.byKey.clear();
      return undefined;
    }
    return this.byKey.get(key);
  }

  store(key: string, value: T): T {
    if (this.byKey.size < MAX_CACHED_PEERS) this.byKey.set(key, value);
    return value;
  }
}

/** Label sets for the waypoint's records (`reporter="waypoint"`). */
export class WaypointLabeler {
  private readonly peers = new PerViewCache<PeerEntry>();
  /** Service and `VIP:port` → `grpc` or `http`, from the service port's declared protocol. */
  private readonly protocols = new PerViewCache<string>();
  /** The previous request's inputs and result (see `request`). */
  private lastRequest: LastRequest | undefined;

  constructor(private readonly view: () => MeshView) {}

  private peer(view: MeshView, r: AccessRecord): PeerEntry {
    const srcIp = hostOf(r.downstreamRemoteAddress);
    const dstIp = hostOf(r.upstreamHost);
    const key = `${srcIp ?? ''}|${r.sourcePrincipal ?? ''}|${dstIp ?? ''}|${r.destinationPrincipal ?? ''}|${r.destinationService ?? ''}`;
    return (
      this.peers.lookup(view, key) ??
      this.peers.store(
        key,
        peerEntry(peerLabels(view, 'waypoint', sideAt(view, srcIp, r.sourcePrincipal), dstIp ? sideAt(view, dstIp, r.destinationPrincipal) : UNKNOWN_SIDE, r.destinationService)),
      )
    );
  }

  /** `grpc` when the service port is declared gRPC (`appProtocol`/name), else `http`. */
  private protocol(view: MeshView, r: AccessRecord): string {
    const key = `${r.destinationService ?? ''}|${r.downstreamLocalAddress}`;
    const known = this.protocols.lookup(view, key);
    if (known !== undefined) return known;
    const svc = r.destinationService ? view.serviceByHostname(r.destinationService) : undefined;
    const portText = r.downstreamLocalAddress.slice(r.downstreamLocalAddress.lastIndexOf(':') + 1);
    const port = svc?.ports.find((p) => String(p.port) === portText);
    return this.protocols.store(key, port?.appProtocol === 'grpc' ? 'grpc' : 'http');
  }

  request(r: AccessRecord): SeriesKey<IstioRequestLabels> {
    const view = this.view();
    // Consecutive requests mostly share every input (same HBONE connection, endpoint, outcome):
    // comparing the fields costs far less than building and hashing the cache keys below.
    const last = this.lastRequest;
    if (
      last !== undefined &&
      last.view === view &&
      last.downstreamRemoteAddress === r.downstreamRemoteAddress &&
      last.upstreamHost === r.upstreamHost &&
      last.responseCode === r.responseCode &&
      last.responseFlags === r.responseFlags &&
      last.sourcePrincipal === r.sourcePrincipal &&
      last.destinationPrincipal === r.destinationPrincipal &&
      last.destinationService === r.destinationService &&
      last.downstreamLocalAddress === r.downstreamLocalAddress &&
      last.grpc === r.grpc &&
      last.grpcStatus === r.grpcStatus
    ) {
      return last.key;
    }
    const key = this.resolveRequest(view, r);
    this.lastRequest = {
      view,
      downstreamRemoteAddress: r.downstreamRemoteAddress,
      upstreamHost: r.upstreamHost,
      responseCode: r.responseCode,
      responseFlags: r.responseFlags,
      sourcePrincipal: r.sourcePrincipal,
      destinationPrincipal: r.destinationPrincipal,
      destinationService: r.destinationService,
      downstreamLocalAddress: r.downstreamLocalAddress,
      grpc: r.grpc,
      grpcStatus: r.grpcStatus,
      key,
    };
    return key;
  }

  private resolveRequest(view: MeshView, r: AccessRecord): SeriesKey<IstioRequestLabels> {
    const peer = this.peer(view, r);
    // Istio's stats plugin calls a request gRPC by its content-type; a declared gRPC port too.
    const protocol = r.grpc ? 'grpc' : this.protocol(view, r);
    const code = r.responseCode ?? 0;
    // Bounded: gRPC status codes are 0..16 (anything else is still one value per code seen).
    const grpcStatus = protocol === 'grpc' && r.grpcStatus !== undefined ? String(r.grpcStatus) : '';
    const key = `${protocol}|${code}|${grpcStatus}|${r.responseFlags}`;
    return (
      peer.requests.get(key) ??
      remember(peer.requests, key, {
        ...peer.labels,
        request_protocol: protocol,
        response_code: String(code),
        // Istio sets it for gRPC only.
        grpc_response_status: grpcStatus,
        response_flags: r.responseFlags,
        connection_security_policy: 'mutual_tls',
      })
    );
  }

  tcp(r: AccessRecord): SeriesKey<IstioTcpLabels> {
    const peer = this.peer(this.view(), r);
    return (
      peer.tcp.get(r.responseFlags) ??
      remember(peer.tcp, r.responseFlags, {
        ...peer.labels,
        request_protocol: 'tcp',
        response_flags: r.responseFlags,
        connection_security_policy: 'mutual_tls',
      })
    );
  }
}

/**
 * Label sets for the ztunnel's records: `reporter="source"` on outbound (the client's ztunnel),
 * `"destination"` on inbound, as ztunnel's metrics do.
 */
export class ZtunnelLabeler {
  private readonly peers = new PerViewCache<PeerEntry>();

  constructor(private readonly view: () => MeshView) {}

  tcp(r: ConnectionRecord): SeriesKey<IstioTcpLabels> {
    const view = this.view();
    const srcIp = hostOf(r.srcAddr);
    // The pod behind an HBONE authority when there is one, else where bytes went (a waypoint,
    // a plain-TCP pod).
    const hboneIp = hostOf(r.dstHboneAddr);
    const dstIp = hboneIp && (view.workloadByIp(hboneIp) || view.waypointByAddress(hboneIp)) ? hboneIp : hostOf(r.dstAddr);
    const reporter: Reporter = r.direction === 'inbound' ? 'destination' : 'source';
    const peerKey = `${reporter}|${srcIp ?? ''}|${r.srcIdentity ?? ''}|${dstIp ?? ''}|${r.dstIdentity ?? ''}|${r.dstService ?? ''}`;
    const peer =
      this.peers.lookup(view, peerKey) ??
      this.peers.store(peerKey, peerEntry(peerLabels(view, reporter, sideAt(view, srcIp, r.srcIdentity), sideAt(view, dstIp, r.dstIdentity), r.dstService)));
    // Inbound is always HBONE (mTLS); outbound is mTLS when it went over HBONE.
    const mtls = r.direction === 'inbound' || r.dstHboneAddr !== undefined;
    const flags = r.responseFlag ?? '-';
    const key = mtls ? flags : `${flags}|plain`;
    return (
      peer.tcp.get(key) ??
      remember(peer.tcp, key, {
        ...peer.labels,
        request_protocol: 'tcp',
        response_flags: flags,
        connection_security_policy: mtls ? 'mutual_tls' : UNKNOWN,
      })
    );
  }
}
