/**
 * One client HBONE connection: TCP (through net/sockets), mutual TLS 1.3 with ALPN `h2` and no
 * SNI, the server's URI SAN pinned to the expected identities, then an HTTP/2 session on which
 * CONNECT streams are opened. Pooling lives in pool.ts; this file knows nothing about reuse.
 */
const http2 = process.getBuiltinModule('node:http2');
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
const tls = process.getBuiltinModule('node:tls');
declare namespace tls { export type TLSSocket = import('node:tls').TLSSocket; }
import type { SpiffeUri } from '../config/ir.js';
import type { FailureCode, Outcome } from '../failures.js';
import { fail, ok } from '../failures.js';
import { spiffeIdsOfCertificate } from '../identity/spiffe.js';
import type { TlsMaterial } from '../identity/tls-material.js';
import { connectTcp } from '../net/sockets.js';
import { formatAuthority } from './authority.js';
import { startKeepalive } from './keepalive.js';
import { clientTlsOptions, noHalfOpen } from './mtls.js';
import type { KeepaliveOptions } from './keepalive.js';
import { ALPN_H2, CLIENT_SETTINGS, CONNECTION_WINDOW_BYTES, DIAL_TIMEOUT_MS, MAX_SESSION_MEMORY_MB, POOL_MAX_STREAMS_PER_CONNECTION } from './settings.js';
import { hardenTunnelStream } from './tunnel-stream.js';
import type { HboneDialResult } from './types.js';

export interface HboneConnectOptions {
  readonly source: TlsMaterial;
  readonly rootsPem: readonly string[];
  readonly expectedIdentities: readonly SpiffeUri[];
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string;
  /** TCP + TLS must complete within this; default 10 s. */
  readonly timeoutMs?: number;
  readonly keepalive?: KeepaliveOptions;
}

/** Opens and verifies a connection. Never throws: failures come back as codes. */
export async function connectHbone(opts: HboneConnectOptions): Promise<Outcome<HboneClientConnection>> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? DIAL_TIMEOUT_MS;
  const target = formatAuthority(opts.address, opts.port);
  const tcp = await connectTcp({
    host: opts.address,
    port: opts.port,
    timeoutMs,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  if (!tcp.ok) return fail('UPSTREAM_CONNECT_FAILED', `HBONE ${target}: ${tcp.message}`);
  const socket = tcp.value;
  noHalfOpen(socket);

  const secured = await new Promise<Outcome<tls.TLSSocket>>((resolve) => {
    const tlsSocket = tls.connect(clientTlsOptions(socket, opts.source, opts.rootsPem));
    const timer = setTimeout(() => finish(fail('UPSTREAM_CONNECT_FAILED', `HBONE ${target}: TLS handshake timed out`)), Math.max(1, timeoutMs - (Date.now() - started)));
    const onError = (err: Error): void => finish(fail('UPSTREAM_CONNECT_FAILED', `HBONE ${target}: TLS: ${err.message}`));
    const onClose = (): void => finish(fail('UPSTREAM_CONNECT_FAILED', `HBONE ${target}: closed during TLS handshake`));
    const onSecure = (): void => finish(ok(tlsSocket));
    function finish(result: Outcome<tls.TLSSocket>): void {
      clearTimeout(timer);
      tlsSocket.off('error', onError);
      tlsSocket.off('close', onClose);
      tlsSocket.off('secureConnect', onSecure);
      if (!result.ok) {
        tlsSocket.on('error', ignore);
        tlsSocket.destroy();
        socket.destroy();
      }
      resolve(result);
    }
    tlsSocket.once('secureConnect', onSecure);
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onClose);
  });
  if (!secured.ok) return secured;
  const tlsSocket = secured.value;
  tlsSocket.on('error', ignore);

  const refuse = (code: FailureCode, message: string): Outcome<HboneClientConnection> => {
    tlsSocket.destroy();
    return fail(code, `HBONE ${target}: ${message}`);
  };
  if (tlsSocket.alpnProtocol !== ALPN_H2) return refuse('UPSTREAM_CONNECT_FAILED', 'server did not negotiate h2');
  if (!tlsSocket.authorized) return refuse('UPSTREAM_CONNECT_FAILED', `server certificate rejected: ${String(tlsSocket.authorizationError)}`);
  const presented = spiffeIdsOfCertificate(tlsSocket.getPeerCertificate());
  const peerIdentity = presented.find((id) => opts.expectedIdentities.includes(id));
  if (!peerIdentity) {
    return refuse(
      'UPSTREAM_IDENTITY_MISMATCH',
      `server presented [${presented.join(', ')}], expected one of [${opts.expectedIdentities.join(', ')}]`,
    );
  }

  if (tlsSocket.destroyed || !tlsSocket.writable) return refuse('UPSTREAM_CONNECT_FAILED', 'closed by the server after the handshake');

  const session = http2.connect(`https://${target}`, {
    createConnection: () => tlsSocket,
    settings: CLIENT_SETTINGS,
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
    peerMaxConcurrentStreams: POOL_MAX_STREAMS_PER_CONNECTION,
  });
  return ok(new HboneClientConnection(session, peerIdentity, target, opts.keepalive));
}

/** A dial result; `retryable` marks a failure where the server provably did not see the stream. */
export type HboneRequestResult = HboneDialResult | (Extract<HboneDialResult, { ok: false }> & { readonly retryable: true });

/** Client side of one HBONE connection. Streams are opened with {@link request}. */
export class HboneClientConnection {
  private settled = false;
  private goaway = false;
  private active = 0;
  private readonly closeListeners: Array<() => void> = [];
  private readonly changeListeners: Array<() => void> = [];

  constructor(
    private readonly session: ClientHttp2Session,
    /** The verified identity the server presented. */
    readonly peerIdentity: SpiffeUri,
    readonly target: string,
    keepalive: KeepaliveOptions | undefined,
  ) {
    session.on('error', ignore);
    session.on('frameError', ignore);
    session.once('remoteSettings', () => {
      // The server's SETTINGS arrived: the TLS peer accepted us (a refused client certificate
      // shows up as an error before this point) and its stream limit is now known.
      this.settled = true;
      this.changed();
    });
    session.on('goaway', () => {
      // No new streams here; open ones continue (Node closes the session when they finish).
      this.goaway = true;
      this.changed();
    });
    session.once('close', () => {
      for (const l of this.closeListeners) l();
    });
    try {
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // Only fails on a session already destroyed; its close listeners take over.
    }
    startKeepalive(session, keepalive);
  }

  /** True while new streams may be opened here. */
  get usable(): boolean {
    return !this.goaway && !this.session.closed && !this.session.destroyed;
  }

  get closed(): boolean {
    return this.session.destroyed;
  }

  /** Open CONNECT streams. */
  get activeStreams(): number {
    return this.active;
  }

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (assumed 100 until its SETTINGS arrive). */
  get peerMaxConcurrentStreams(): number {
    if (!this.settled) return POOL_MAX_STREAMS_PER_CONNECTION;
    return this.session.remoteSettings.maxConcurrentStreams ?? POOL_MAX_STREAMS_PER_CONNECTION;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Called when usability or limits change (GOAWAY, SETTINGS). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  /**
   * Sends `CONNECT authority`. Resolves ok with the tunnel after a 200; otherwise with the
   * failure (and the status when the server answered). `onStreamClosed` runs once when the
   * stream is gone, whatever the outcome, so a pool can count it.
   */
  request(
    authority: string,
    headers: Readonly<Record<string, string>> | undefined,
    timeoutMs: number,
    onStreamClosed: () => void,
  ): Promise<HboneRequestResult> {
    let stream: ClientHttp2Stream;
    const reqHeaders: OutgoingHttpHeaders = { ...headers, ':method': 'CONNECT', ':authority': authority };
    try {
      stream = this.session.request(reqHeaders, { endStream: false });
    } catch (err) {
      onStreamClosed();
      const message = `HBONE ${this.target}: ${errorMessage(err)}`;
      // Closed or gone away between the pool's check and now: nothing was sent, try elsewhere.
      // Otherwise the request itself is invalid (e.g. a connection-specific header).
      if (!this.usable) return Promise.resolve({ ok: false, code: 'UPSTREAM_CONNECT_FAILED', message, retryable: true });
      return Promise.resolve({ ok: false, code: 'UPSTREAM_CONNECT_FAILED', message });
    }
    hardenTunnelStream(stream);
    this.active++;
    stream.once('close', () => {
      this.active--;
      onStreamClosed();
    });
    return new Promise<HboneRequestResult>((resolve) => {
      const timer = setTimeout(() => {
        finish({ ok: false, code: 'UPSTREAM_CONNECT_FAILED', message: `HBONE ${this.target}: no CONNECT answer within ${timeoutMs} ms` });
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      timer.unref();
      const onResponse = (h: IncomingHttpHeaders): void => {
        const status = Number(h[':status']);
        if (status === 200) {
          finish({ ok: true, stream, responseHeaders: h });
          return;
        }
        finish({ ok: false, code: 'UPSTREAM_CONNECT_FAILED', status, message: `HBONE ${this.target}: CONNECT ${authority} answered ${status}` });
        // Drop the (empty) body and release the stream.
        stream.resume();
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      };
      const onGone = (err?: Error): void => {
        const message = `HBONE ${this.target}: CONNECT ${authority}: ${err ? err.message : `stream closed (code ${stream.rstCode ?? '?'})`}`;
        // REFUSED_STREAM (also what streams beyond a GOAWAY's last stream id get): the server did
        // not process it, so it is safe to send again on another connection (RFC 9113 §8.7).
        if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) {
          finish({ ok: false, code: 'UPSTREAM_RESET', message, retryable: true });
          return;
        }
        // Before the server's SETTINGS, a failure is the connection's (e.g. our certificate was
        // refused after the TLS 1.3 handshake); after, the stream itself was reset.
        const code: FailureCode = this.settled && !this.session.destroyed ? 'UPSTREAM_RESET' : 'UPSTREAM_CONNECT_FAILED';
        finish({ ok: false, code, message });
      };
      const onClose = (): void => onGone();
      function finish(result: HboneRequestResult): void {
        clearTimeout(timer);
        stream.off('response', onResponse);
        stream.off('error', onGone);
        stream.off('close', onClose);
        resolve(result);
      }
      stream.once('response', onResponse);
      stream.once('error', onGone);
      stream.once('close', onClose);
    });
  }

  /** GOAWAY, then close once the open streams finish. */
  close(): void {
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  destroy(): void {
    if (!this.session.destroyed) this.session.destroy();
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }
}

function ignore(): void {
  // Session and socket errors end in 'close', which the pool and the streams observe.
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
