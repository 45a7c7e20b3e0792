/**
 * The destination side of HBONE for local workloads (istio/ztunnel src/proxy/inbound.rs): a CONNECT
 * that arrived at `podIP:15008` is checked (the authority must name this pod), authorized by L4
 * policy against the peer's certificate identity, then connected to `podIP:port`. 200 is answered
 * only once the app connection exists, so the client sees a refusal as 503, not as a reset.
 */
import type { Socket } from 'node:net';
import type { WorkloadIR } from '../config/ir.js';
import type { FailureCode } from '../failures.js';
import type { HboneConnect } from '../hbone/types.js';
import { forwardedHost } from '../hbone/connect-headers.js';
import { cidrContains, parseCidr, unmapV4 } from '../net/cidr.js';
import { connectTcp, DEFAULT_CONNECT_TIMEOUT_MS } from '../net/sockets.js';
import { ByteTally, splice } from '../net/splice.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ConnectionRecordSink } from './connection-record.js';
import { PendingConnectionRecord } from './connection-record.js';
import type { L4DryRunResult } from './l4-authz.js';
import { evaluateL4 } from './l4-authz.js';
import type { InboundConnections } from './inbound-connections.js';

export interface InboundOptions {
  /** This ztunnel's node: only workloads scheduled here are served. */
  readonly node: string;
  /** The view to use for this connection (read once per CONNECT). */
  readonly view: () => MeshView;
  readonly recordSink?: ConnectionRecordSink;
  /** App connect timeout; ztunnel's CONNECTION_TIMEOUT is 10 s. */
  readonly connectTimeoutMs?: number;
  /** Dry-run policy results (log only). */
  readonly onDryRun?: (result: L4DryRunResult, connect: HboneConnect) => void;
  /** Open connections, re-authorized when policies change (inbound-connections.ts). */
  readonly tracker?: InboundConnections;
}

/** Source addresses we may bind for the app connection: all of 127/8 is local on Linux. */
const SPOOFABLE = parseCidr('127.0.0.0/8');
/** Bind errors (as opposed to connect errors): retry without binding the peer's address. */
const BIND_ERROR = /EADDRNOTAVAIL|EADDRINUSE|EINVAL/;

/**
 * Handles one CONNECT. Never throws: every outcome is either a rejection with a coded status or a
 * tunnel spliced to the app; both end in exactly one access record.
 */
export async function serveInbound(connect: HboneConnect, opts: InboundOptions): Promise<void> {
  const view = opts.view();
  const { connection, authority } = connect;
  const peerIp = unmapV4(connection.peerAddress);
  const localIp = unmapV4(connection.localAddress);
  const rec = new PendingConnectionRecord(opts.recordSink, 'inbound', `${peerIp}:${connection.peerPort}`);
  const peer = view.workloadByIp(peerIp);
  rec.set({
    srcIdentity: connection.peerIdentity,
    ...(peer && peer.identity === connection.peerIdentity ? { srcWorkload: peer.name, srcNamespace: peer.namespace } : {}),
    dstHboneAddr: authority.text,
  });
  const reject = (code: FailureCode, message: string): void => {
    connect.reject(code);
    rec.complete(0, 0, { code, message });
  };

  const local = view.workloadByIp(localIp);
  if (!local || local.node !== opts.node || local.protocol !== 'HBONE') {
    reject('HBONE_UNKNOWN_DESTINATION', `no local HBONE workload at ${localIp} on node ${opts.node}`);
    return;
  }
  rec.set(destinationFields(local, authority.port, connect.headers['forwarded']));
  // The CONNECT must name the pod the connection was addressed to: a peer must not use this
  // pod's certificate and port to reach another address (ztunnel's IPMismatch).
  if (!authority.isIp || unmapV4(authority.host) !== local.ip) {
    reject('HBONE_IP_MISMATCH', `authority ${authority.text} does not match ${local.ip}`);
    return;
  }

  const facts = { sourceIdentity: connection.peerIdentity, sourceIp: peerIp, destIp: local.ip, destPort: authority.port };
  const decision = evaluateL4(
    view.l4PoliciesFor(local),
    facts,
    opts.onDryRun ? (r) => opts.onDryRun?.(r, connect) : undefined,
  );
  if (!decision.allowed) {
    reject('L4_POLICY_DENIED', `denied by ${decision.policy ?? 'policy'} (${decision.reason})`);
    return;
  }

  const app = await connectApp(local.ip, authority.port, peerIp, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  if (!app.ok) {
    reject('APP_CONNECT_FAILED', app.message);
    return;
  }
  const appSocket = app.value;
  if (connect.closed) {
    // The peer gave up while we were connecting: nobody to answer.
    appSocket.destroy();
    rec.complete(0, 0, { error: 'peer closed before the app connection was ready' });
    return;
  }
  const stream = connect.accept();
  const tally = new ByteTally();
  rec.established(tally);
  let lateRejection: string | undefined;
  const untrack = opts.tracker?.add({
    workloadUid: local.uid,
    facts,
    plaintext: false,
    close: (why) => {
      lateRejection = why;
      stream.destroy();
      appSocket.destroy();
    },
  });
  const result = await splice(stream, appSocket, tally);
  untrack?.();
  if (lateRejection !== undefined) rec.complete(result.aToB, result.bToA, { code: 'L4_POLICY_LATE_REJECTION', message: lateRejection });
  else rec.complete(result.aToB, result.bToA, result.error ? { error: result.error.message } : undefined);
}

export type AppConnect = { readonly ok: true; readonly value: Socket } | { readonly ok: false; readonly message: string };

/**
 * Connects to the app, binding the peer's address as source when it is loopback, so the app sees
 * the real client (or waypoint) IP as ztunnel's transparent proxying does. If the bind itself
 * fails (a platform without all of 127/8), connect again unbound rather than failing the tunnel.
 */
export async function connectApp(ip: string, port: number, peerIp: string, timeoutMs: number): Promise<AppConnect> {
  const spoof = SPOOFABLE !== undefined && cidrContains(SPOOFABLE, peerIp);
  if (spoof) {
    const bound = await connectTcp({ host: ip, port, localAddress: peerIp, timeoutMs });
    if (bound.ok || !BIND_ERROR.test(bound.message)) return bound;
  }
  return connectTcp({ host: ip, port, timeoutMs });
}

function destinationFields(local: WorkloadIR, port: number, forwarded: string | string[] | undefined) {
  const fwd = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  const host = forwardedHost(fwd);
  return {
    dstAddr: `${local.ip}:${port}`,
    dstWorkload: local.name,
    dstNamespace: local.namespace,
    dstIdentity: local.identity,
    ...(host ? { dstService: host } : {}),
  };
}
