/**
 * Plaintext inbound to a local ambient pod (istio/ztunnel src/proxy/inbound_passthrough.rs): a
 * connection that reached the pod without HBONE. Istio's ztunnel captures these on 15006 and reads
 * the original destination with `SO_ORIGINAL_DST`; the local mesh has no iptables, so the same
 * facts arrive either in a PROXY protocol v2 header (the per-pod listener, `proxy-inbound-listeners.ts`)
 * or from a fixed listener's spec (`fixed-inbound.ts`).
 *
 * Then, as ztunnel does: PeerAuthentication `STRICT` for the destination port closes the
 * connection (counted and logged as a denial); `PERMISSIVE`/`DISABLE` go on to L4
 * AuthorizationPolicy, evaluated with no peer identity (plaintext has none), and on allow the
 * bytes are copied to the app. There is no reply channel: a refusal is a close.
 */
import type { Socket } from 'node:net';
import type { WorkloadIR } from '../config/ir.js';
import type { FailureCode } from '../failures.js';
import type { ProxyHeader, ProxyHeaderErrorCode } from '../net/proxy-protocol.js';
import { parseProxyV2 } from '../net/proxy-protocol.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../net/sockets.js';
import { ByteTally, splice } from '../net/splice.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ConnectionRecordSink } from './connection-record.js';
import { PendingConnectionRecord } from './connection-record.js';
import { connectApp } from './inbound.js';
import type { InboundConnections } from './inbound-connections.js';
import type { L4DryRunResult } from './l4-authz.js';
import { evaluateL4 } from './l4-authz.js';
import { effectiveMtlsMode } from './mtls-mode.js';

/** Where a plaintext connection came from and was going. */
export interface PlaintextTarget {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly workload: WorkloadIR;
  readonly port: number;
}

export interface PlaintextInboundOptions {
  readonly recordSink?: ConnectionRecordSink;
  readonly connectTimeoutMs?: number;
  readonly tracker?: InboundConnections;
  readonly onDryRun?: (result: L4DryRunResult, target: PlaintextTarget) => void;
}

/**
 * Handles one plaintext connection whose original destination is known. Never throws; every
 * outcome ends in one access record.
 */
export async function servePlaintextInbound(socket: Socket, target: PlaintextTarget, view: MeshView, opts: PlaintextInboundOptions): Promise<void> {
  const w = target.workload;
  const rec = new PendingConnectionRecord(opts.recordSink, 'inbound', `${target.sourceIp}:${target.sourcePort}`);
  const peer = view.workloadByIp(target.sourceIp);
  rec.set({
    ...(peer ? { srcWorkload: peer.name, srcNamespace: peer.namespace } : {}),
    dstAddr: `${w.ip}:${target.port}`,
    dstWorkload: w.name,
    dstNamespace: w.namespace,
    dstIdentity: w.identity,
  });
  const refuse = (code: FailureCode, message: string): void => {
    socket.destroy();
    rec.complete(0, 0, { code, message });
  };
  const mtls = effectiveMtlsMode(view.snapshot.peerAuthns, w, target.port);
  if (mtls.mode === 'STRICT') {
    refuse('MTLS_REQUIRED', `plaintext not allowed: mTLS STRICT by ${mtls.policy ?? 'mesh'}`);
    return;
  }
  const facts = { sourceIp: target.sourceIp, destIp: w.ip, destPort: target.port };
  const decision = evaluateL4(view.l4PoliciesFor(w), facts, opts.onDryRun ? (r) => opts.onDryRun?.(r, target) : undefined);
  if (!decision.allowed) {
    refuse('L4_POLICY_DENIED', `denied by ${decision.policy ?? 'policy'} (${decision.reason})`);
    return;
  }
  const app = await connectApp(w.ip, target.port, target.sourceIp, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  if (!app.ok) {
    refuse('APP_CONNECT_FAILED', app.message);
    return;
  }
  const appSocket = app.value;
  if (socket.destroyed) {
    appSocket.destroy();
    rec.complete(0, 0, { error: 'client closed before the app connection was ready' });
    return;
  }
  let lateRejection: string | undefined;
  const untrack = opts.tracker?.add({
    workloadUid: w.uid,
    facts,
    plaintext: true,
    close: (why) => {
      lateRejection = why;
      socket.destroy();
      appSocket.destroy();
    },
  });
  const tally = new ByteTally();
  rec.established(tally);
  const copying = splice(socket, appSocket, tally);
  // The header reader paused the socket explicitly, and a 'data' listener alone does not undo that.
  socket.resume();
  const result = await copying;
  untrack?.();
  if (lateRejection !== undefined) rec.complete(result.aToB, result.bToA, { code: 'L4_POLICY_LATE_REJECTION', message: lateRejection });
  else rec.complete(result.aToB, result.bToA, result.error ? { error: result.error.message } : undefined);
}

export type ProxyHeaderRead =
  | { readonly ok: true; readonly header: ProxyHeader }
  | { readonly ok: false; readonly reason: ProxyHeaderErrorCode | 'TIMEOUT' | 'CLOSED'; readonly message: string };

/** A PROXY header arrives in the first bytes; a client that sends nothing is cut off. */
export const PROXY_HEADER_TIMEOUT_MS = 5000;

/**
 * Reads a PROXY v2 header off the start of `socket`. On success the bytes after the header are put
 * back (`unshift`) and the socket is left paused, so the relayed stream starts exactly after it.
 */
export function readProxyHeader(socket: Socket, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<ProxyHeaderRead> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (r: ProxyHeaderRead): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('end', onClose);
      socket.off('error', onClose);
      socket.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const p = parseProxyV2(buf);
      if (p.status === 'incomplete') return;
      if (p.status === 'error') {
        done({ ok: false, reason: p.code, message: p.message });
        return;
      }
      const rest = buf.subarray(p.header.length);
      done({ ok: true, header: p.header });
      if (rest.length > 0) socket.unshift(rest);
    };
    const onClose = (): void => done({ ok: false, reason: 'CLOSED', message: 'ended before a complete PROXY header' });
    const timer = setTimeout(() => done({ ok: false, reason: 'TIMEOUT', message: `no complete PROXY header within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    // The client's FIN (half-open sockets see 'end', not 'close').
    socket.once('end', onClose);
    socket.once('error', onClose);
  });
}
