/**
 * The source side: one SOCKS5 CONNECT from a local workload, resolved and sent where ztunnel
 * would send it (istio/ztunnel src/proxy/outbound.rs `build_request`):
 *
 * - a Service (by VIP, or by host name as the source pod's resolver would expand it) with a
 *   waypoint → HBONE to the waypoint, `:authority` = the Service's VIP:port (the original
 *   destination), the source's certificate, expecting the waypoint's identity;
 * - a Service without waypoint → a random endpoint; a pod IP → that pod. HBONE workloads get
 *   HBONE to `podIP:15008` with `:authority podIP:targetPort`; TCP (non-mesh) workloads plain TCP;
 * - an IP the mesh does not know → plain TCP passthrough.
 *
 * Connections leave from the source pod's IP (ztunnel keeps the client's address), so the peer
 * ztunnel, waypoint or app sees the real client. The SOCKS5 success reply is sent only once the
 * tunnel is up, so a refusal reaches the client as a reply code, not as a reset after success.
 *
 * Failure → SOCKS5 reply:
 *   policy denied (401)                              → 0x02 not allowed by ruleset
 *   unknown host name, service without endpoints,
 *   HBONE peer unreachable (TCP/TLS to :15008 failed) → 0x04 host unreachable (no host to talk to)
 *   503 from the peer, plain TCP refused, service
 *   port not declared                                → 0x05 connection refused (a host answered,
 *                                                       nothing accepted; like a TCP RST)
 *   anything else (400, identity mismatch, no cert)  → 0x01 general failure
 */
const { randomInt } = process.getBuiltinModule('node:crypto');
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServiceIR, WaypointIR, WorkloadIR } from '../config/ir.js';
import { HBONE_PORT } from '../config/ir.js';
import type { FailureCode } from '../failures.js';
import type { BaggageFields } from '../hbone/connect-headers.js';
import { formatAuthority } from '../hbone/authority.js';
import { baggageHeader, forwardedHeader, newTraceparent } from '../hbone/connect-headers.js';
import type { HboneDial, HboneDialResult } from '../hbone/types.js';
import type { CertSource, TlsMaterial } from '../identity/tls-material.js';
import { connectTcp, DEFAULT_CONNECT_TIMEOUT_MS } from '../net/sockets.js';
import { ByteTally, splice } from '../net/splice.js';
import type { MeshView, WeightedWaypoint } from '../state/mesh-view.js';
import type { ConnectionRecordSink } from './connection-record.js';
import { PendingConnectionRecord } from './connection-record.js';
import type { Socks5ReplyCode, Socks5Request } from './socks5.js';
import { SOCKS5_REPLY, writeSocks5Reply } from './socks5.js';
import type { WaypointAddresses } from './waypoint-addresses.js';

/** What outbound needs from the HBONE client pool (`HbonePool` satisfies it). */
export interface HboneDialer {
  dial(dial: HboneDial): Promise<HboneDialResult>;
}

/** Where one outbound connection goes. Computed from the view alone, so it is unit-testable. */
export type OutboundPlan =
  | {
      readonly kind: 'waypoint';
      readonly waypoint: WaypointIR;
      readonly service: ServiceIR;
      readonly address: string;
      /** Every address of the waypoint, tried in turn ({@link MeshView.waypointAddresses}). */
      readonly addresses: readonly string[];
      readonly port: number;
      readonly authority: string;
      /** Set when the Service has a weighted waypoint set (Istio 1.31 canary): which one this connection drew. */
      readonly role?: 'primary' | 'canary';
    }
  | {
      readonly kind: 'hbone';
      readonly workload: WorkloadIR;
      readonly service?: ServiceIR;
      readonly address: string;
      readonly port: number;
      readonly authority: string;
    }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly workload?: WorkloadIR; readonly service?: ServiceIR }
  | { readonly kind: 'reject'; readonly reply: Socks5ReplyCode; readonly code: FailureCode; readonly message: string };

export interface OutboundTarget {
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
}

/** Picks an index in [0, n): random by default, injectable for tests. */
export type EndpointPicker = (n: number) => number;

const randomPick: EndpointPicker = (n) => randomInt(n);

export function planOutbound(
  view: MeshView,
  source: WorkloadIR,
  target: OutboundTarget,
  pick: EndpointPicker = randomPick,
  pickWaypoint: EndpointPicker = randomPick,
): OutboundPlan {
  const service = target.isIp ? view.serviceByVip(target.host) : view.serviceByHostname(target.host, source.namespace);
  if (!service) {
    if (!target.isIp) return reject(SOCKS5_REPLY.HOST_UNREACHABLE, 'NO_HEALTHY_UPSTREAM', `unknown host ${target.host}`);
    const pod = view.workloadByIp(target.host);
    if (pod) return toWorkload(pod, target.port, undefined);
    // Not a mesh address: pass through as plain TCP, as ztunnel does for unknown IPs.
    return { kind: 'tcp', host: target.host, port: target.port };
  }
  const port = service.ports.find((p) => p.port === target.port);
  if (!port) {
    return reject(SOCKS5_REPLY.CONNECTION_REFUSED, 'NO_HEALTHY_UPSTREAM', `service ${service.hostname} has no port ${target.port}`);
  }
  const drawn = drawWaypoint(view, service, pickWaypoint);
  const wp = drawn?.waypoint ?? view.waypointOf(service);
  if (wp) {
    const addresses = view.waypointAddresses(wp);
    const address = addresses[0];
    if (address === undefined) return reject(SOCKS5_REPLY.HOST_UNREACHABLE, 'NO_HEALTHY_UPSTREAM', `waypoint ${wp.namespace}/${wp.name} has no address`);
    // The original destination as the app dialed it: the VIP (a name only if the Service has none).
    const vip = service.vips[0];
    const authority = vip !== undefined ? formatAuthority(vip, target.port) : `${service.hostname}:${target.port}`;
    return { kind: 'waypoint', waypoint: wp, service, address, addresses, port: wp.hbonePort, authority, ...(drawn ? { role: drawn.role } : {}) };
  }
  const endpoints = view.endpoints(service, port.port);
  if (endpoints.length === 0) return reject(SOCKS5_REPLY.HOST_UNREACHABLE, 'NO_HEALTHY_UPSTREAM', `no endpoints for ${service.hostname}:${target.port}`);
  const ep = endpoints[pick(endpoints.length)] ?? endpoints[0];
  if (!ep) return reject(SOCKS5_REPLY.HOST_UNREACHABLE, 'NO_HEALTHY_UPSTREAM', `no endpoints for ${service.hostname}:${target.port}`);
  return toWorkload(ep.workload, ep.targetPort, service);
}

/**
 * One draw from the Service's weighted waypoint set, per new connection, proportional to weight
 * (ztunnel's `sample_weighted_waypoint`: `choose_weighted`); an all-zero set is not samplable and
 * falls back to the primary. Undefined when the Service has no set.
 */
function drawWaypoint(view: MeshView, service: ServiceIR, pick: EndpointPicker): WeightedWaypoint | undefined {
  const set = view.weightedWaypoints(service);
  if (!set) return undefined;
  let total = 0;
  for (const w of set) total += w.weight;
  if (total <= 0) return undefined;
  let r = pick(total);
  for (const w of set) {
    if (r < w.weight) return w;
    r -= w.weight;
  }
  return undefined;
}

function toWorkload(w: WorkloadIR, port: number, service: ServiceIR | undefined): OutboundPlan {
  const svc = service ? { service } : {};
  switch (w.protocol) {
    case 'HBONE':
      return { kind: 'hbone', workload: w, ...svc, address: w.ip, port: HBONE_PORT, authority: formatAuthority(w.ip, port) };
    case 'TCP':
      return { kind: 'tcp', host: w.ip, port, workload: w, ...svc };
  }
}

function reject(reply: Socks5ReplyCode, code: FailureCode, message: string): OutboundPlan {
  return { kind: 'reject', reply, code, message };
}

export interface OutboundOptions {
  readonly view: MeshView;
  readonly certs: CertSource;
  readonly dialer: HboneDialer;
  readonly recordSink?: ConnectionRecordSink;
  readonly connectTimeoutMs?: number;
  readonly pick?: EndpointPicker;
  /** Draws a Service's waypoint from its weighted set; default a fair random draw per connection. */
  readonly pickWaypoint?: EndpointPicker;
  /**
   * How the outcome reaches the client; default a SOCKS5 reply. A captured connection (the
   * fixed-destination listener) has no handshake to answer: success says nothing, failure resets.
   */
  readonly reply?: (client: Socket, code: Socks5ReplyCode) => void;
  /** Order and health of a waypoint's addresses (replicas); without it only the first is used. */
  readonly waypointAddresses?: WaypointAddresses;
}

/**
 * Proxies one accepted SOCKS5 CONNECT (`client` paused, handshake done, reply not yet sent) from
 * `source`. Resolves when the connection is over. Never throws.
 */
export async function serveOutbound(client: Socket, source: WorkloadIR, request: Socks5Request, opts: OutboundOptions): Promise<void> {
  // Until splice owns the socket, a client reset must not become an unhandled 'error'.
  client.on('error', ignore);
  const reply = opts.reply ?? writeSocks5Reply;
  const clientPort = client.remotePort ?? 0;
  const rec = new PendingConnectionRecord(opts.recordSink, 'outbound', `${source.ip}:${clientPort}`);
  rec.set({ srcWorkload: source.name, srcNamespace: source.namespace, srcIdentity: source.identity });
  const plan = planOutbound(opts.view, source, request, opts.pick, opts.pickWaypoint);
  switch (plan.kind) {
    case 'reject':
      reply(client, plan.reply);
      rec.complete(0, 0, { code: plan.code, message: plan.message });
      return;
    case 'tcp': {
      rec.set({
        dstAddr: formatAuthority(plan.host, plan.port),
        ...(plan.service ? { dstService: plan.service.hostname } : {}),
        ...(plan.workload ? { dstWorkload: plan.workload.name, dstNamespace: plan.workload.namespace } : {}),
      });
      const conn = await connectTcp({
        host: plan.host,
        port: plan.port,
        localAddress: source.ip,
        timeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      });
      if (!conn.ok) {
        reply(client, SOCKS5_REPLY.CONNECTION_REFUSED);
        rec.complete(0, 0, { code: conn.code, message: conn.message });
        return;
      }
      await pipe(client, conn.value, rec, reply);
      return;
    }
    case 'waypoint':
    case 'hbone': {
      const expected = plan.kind === 'waypoint' ? plan.waypoint.identity : plan.workload.identity;
      rec.set({
        dstAddr: formatAuthority(plan.address, plan.port),
        dstHboneAddr: plan.authority,
        dstIdentity: expected,
        ...(plan.service ? { dstService: plan.service.hostname } : {}),
        ...(plan.kind === 'hbone'
          ? { dstWorkload: plan.workload.name, dstNamespace: plan.workload.namespace }
          : {
              dstWorkload: plan.waypoint.name,
              dstNamespace: plan.waypoint.namespace,
              waypoint: `${plan.waypoint.namespace}/${plan.waypoint.name}`,
              ...(plan.role ? { waypointRole: plan.role } : {}),
            }),
      });
      const material = await certificateFor(opts.certs, source);
      if (!material.ok) {
        reply(client, SOCKS5_REPLY.GENERAL_FAILURE);
        rec.complete(0, 0, { error: material.message });
        return;
      }
      const headers = {
        forwarded: forwardedHeader(source.ip, clientPort, plan.service?.hostname),
        baggage: baggageHeader(baggageOf(source)),
        traceparent: newTraceparent(),
      };
      const dialOne = (address: string): Promise<HboneDialResult> =>
        opts.dialer.dial({
          source: material.value,
          expectedIdentities: [expected],
          address,
          port: plan.port,
          localAddress: source.ip,
          authority: plan.authority,
          headers,
        });
      const health = plan.kind === 'waypoint' ? opts.waypointAddresses : undefined;
      const dialed = health && plan.kind === 'waypoint' ? await dialWaypoint(health, plan.addresses, plan.port, dialOne, rec) : await dialOne(plan.address);
      if (!dialed.ok) {
        reply(client, replyForDialFailure(dialed.code, dialed.status));
        rec.complete(0, 0, { code: dialed.code, message: dialed.status ? `${dialed.status}: ${dialed.message}` : dialed.message });
        return;
      }
      await pipe(client, dialed.stream, rec, reply);
      return;
    }
  }
}

/**
 * Tries a waypoint's addresses in the order `health` gives until one answers. Only a transport
 * failure (nothing listening, connection refused new streams, stream reset or no answer before
 * any status) moves on: an answer
 * from a waypoint (400, 401, 503) or an identity mismatch is final, as it would be the same at
 * every replica.
 */
async function dialWaypoint(
  health: WaypointAddresses,
  addresses: readonly string[],
  port: number,
  dialOne: (address: string) => Promise<HboneDialResult>,
  rec: PendingConnectionRecord,
): Promise<HboneDialResult> {
  let last: HboneDialResult = { ok: false, code: 'NO_HEALTHY_UPSTREAM', message: 'waypoint has no address' };
  for (const address of health.order(addresses)) {
    last = await dialOne(address);
    if (last.ok) {
      health.succeeded(address);
      rec.set({ dstAddr: formatAuthority(address, port) });
      return last;
    }
    // No answer at all (connect failed, or the stream was reset before any status): nothing has
    // flowed yet (the client waits for our SOCKS reply), so another replica may take it.
    if (last.status !== undefined || (last.code !== 'UPSTREAM_CONNECT_FAILED' && last.code !== 'UPSTREAM_RESET')) return last;
    health.failed(address);
  }
  return last;
}

/** Sends the success reply and copies both ways; the client's bytes are `bytes_sent`. */
async function pipe(client: Socket, upstream: Duplex, rec: PendingConnectionRecord, reply: (client: Socket, code: Socks5ReplyCode) => void): Promise<void> {
  if (client.destroyed) {
    // The client left while we were connecting.
    upstream.destroy();
    rec.complete(0, 0, { error: 'client closed before the tunnel was up' });
    return;
  }
  reply(client, SOCKS5_REPLY.SUCCEEDED);
  const tally = new ByteTally();
  rec.established(tally);
  const r = await splice(client, upstream, tally);
  rec.complete(r.aToB, r.bToA, r.error ? { error: r.error.message } : undefined);
}

export function replyForDialFailure(code: FailureCode, status: number | undefined): Socks5ReplyCode {
  if (status === 401 || code === 'L4_POLICY_DENIED') return SOCKS5_REPLY.NOT_ALLOWED;
  if (status === 503) return SOCKS5_REPLY.CONNECTION_REFUSED;
  if (status !== undefined) return SOCKS5_REPLY.GENERAL_FAILURE;
  switch (code) {
    case 'UPSTREAM_IDENTITY_MISMATCH':
      return SOCKS5_REPLY.GENERAL_FAILURE;
    case 'APP_CONNECT_FAILED':
      return SOCKS5_REPLY.CONNECTION_REFUSED;
    default:
      // The transport to the peer's :15008 failed: nothing there to talk to.
      return SOCKS5_REPLY.HOST_UNREACHABLE;
  }
}

type Material = { readonly ok: true; readonly value: TlsMaterial } | { readonly ok: false; readonly message: string };

async function certificateFor(certs: CertSource, source: WorkloadIR): Promise<Material> {
  try {
    return { ok: true, value: await certs.certificate(source.identity) };
  } catch (err) {
    // A CA failure is an operational fault, not a data-path outcome; contain it to this connection.
    return { ok: false, message: `no certificate for ${source.identity}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The source's baggage. The IR keeps no controller kind: a workload named after its pod is
 * reported as a bare pod, anything else as the Deployment it (most often) belongs to.
 */
function baggageOf(w: WorkloadIR): BaggageFields {
  return {
    namespace: w.namespace,
    workloadType: w.workloadName === w.name ? 'pod' : 'deployment',
    workloadName: w.workloadName,
    service: w.canonicalName,
    version: w.canonicalRevision,
  };
}

function ignore(): void {}
