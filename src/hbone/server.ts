/**
 * The HBONE server: mutual TLS 1.3 + HTTP/2 CONNECT on many addresses at once (a ztunnel binds
 * `podIP:15008` for every local pod, a waypoint its own addresses).
 *
 * How a connection is handled, and why in this order:
 * 1. A plain TCP listener accepts (one per address; they come and go with config).
 * 2. The server certificate is chosen by the LOCAL address the connection arrived at, because
 *    HBONE clients send no SNI (reference §1.1). Each identity has its own `tls.Server`, used only
 *    as a handshake engine (never listening): it holds that identity's SecureContext, which is
 *    swapped on rotation so new connections get the new certificate and open ones continue.
 * 3. `tls.Server` requires a client certificate and rejects chains that do not verify against the
 *    mesh roots. We then require ALPN `h2` and a SPIFFE URI SAN in our trust domain, else close.
 * 4. An HTTP/2 session is started on the secured socket (`http2.performServerHandshake`) with
 *    HBONE's windows and limits; every stream must be CONNECT with a valid `:authority` (else 400),
 *    and is then given to the handler, which accepts (200 + a tunnel Duplex) or rejects.
 */
const http2 = process.getBuiltinModule('node:http2');
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream, Settings } from 'node:http2';
import type net from 'node:net';
const tls = process.getBuiltinModule('node:tls');
declare namespace tls { export type SecureContextOptions = import('node:tls').SecureContextOptions; export type Server = import('node:tls').Server; export type TLSSocket = import('node:tls').TLSSocket; }
import type { SpiffeUri } from '../config/ir.js';
import { peerIdentityInTrustDomain } from '../identity/spiffe.js';
import type { CertSource, TlsMaterial } from '../identity/tls-material.js';
import { unmapV4 } from '../net/cidr.js';
import { createTcpServer, listenTcp } from '../net/sockets.js';
import { parseAuthority } from './authority.js';
import { noHalfOpen, serverSecureOptions } from './mtls.js';
import { startKeepalive } from './keepalive.js';
import type { KeepaliveOptions } from './keepalive.js';
import { ALPN_H2, CONNECTION_WINDOW_BYTES, HANDSHAKE_TIMEOUT_MS, MAX_SESSION_MEMORY_MB, SERVER_SETTINGS } from './settings.js';
import { answer, ServerConnect } from './server-connect.js';
import { hardenTunnelStream } from './tunnel-stream.js';
import type { HboneConnectionInfo, HboneHandler } from './types.js';

export interface HboneServerOptions {
  readonly certSource: CertSource;
  /** The identity whose certificate answers connections to `localAddress`; undefined → drop. */
  readonly identityFor: (localAddress: string) => SpiffeUri | undefined;
  readonly handler: HboneHandler;
  /** Peers must carry a SPIFFE identity in this trust domain; default `certSource.trustDomain`. */
  readonly trustDomain?: string;
  readonly keepalive?: KeepaliveOptions;
  readonly handshakeTimeoutMs?: number;
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients. Default 100, Envoy's waypoint value;
   * ztunnel's own server uses 200.
   */
  readonly maxConcurrentStreams?: number;
  /**
   * Open downstream connections this server keeps across its listeners (TCP accepted, TLS
   * handshaking or serving); one more is closed as soon as it is accepted and counted in
   * `overflow` (Envoy's listener `connection_limit` and `downstream_cx_overflow`). Default:
   * unlimited, as in Envoy, whose per-listener and overload-manager limits are both unset unless
   * configured.
   */
  readonly maxConnections?: number;
  /** Unexpected errors (handler threw, certificate unavailable); default console.error. */
  readonly onError?: (err: unknown, context: string) => void;
}

export interface HboneServerStats {
  /** Open HTTP/2 sessions (verified mTLS connections). */
  readonly connections: number;
  /** Sessions ever established. */
  readonly connectionsTotal: number;
  /** Open CONNECT streams. */
  readonly streams: number;
  /** Connections dropped before a session: no identity for the address, TLS or peer check failed. */
  readonly refused: number;
  /** Accepted TCP connections still open (handshaking or serving), what `maxConnections` bounds. */
  readonly accepted: number;
  /** Connections closed on accept because `maxConnections` were open (Envoy `downstream_cx_overflow`). */
  readonly overflow: number;
}

interface Listener {
  readonly server: net.Server;
  readonly requestedHost: string;
  readonly address: net.AddressInfo;
}

export class HboneServer {
  private readonly listeners = new Set<Listener>();
  private readonly tlsServers = new Map<SpiffeUri, tls.Server>();
  private readonly tlsServersPending = new Map<SpiffeUri, Promise<tls.Server | undefined>>();
  /** Raw sockets not yet secured, by 4-tuple (the TLSSocket that replaces one carries the same tuple). */
  private readonly handshaking = new Map<string, net.Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly trustDomain: string;
  private readonly settings: Settings;
  private readonly unsubscribe: () => void;
  private closing = false;
  private streams = 0;
  private connectionsTotal = 0;
  private refused = 0;
  private accepted = 0;
  private overflow = 0;
  private readonly maxConnections: number;

  constructor(private readonly opts: HboneServerOptions) {
    this.trustDomain = opts.trustDomain ?? opts.certSource.trustDomain;
    this.maxConnections = opts.maxConnections ?? Number.POSITIVE_INFINITY;
    this.settings = { ...SERVER_SETTINGS, maxConcurrentStreams: opts.maxConcurrentStreams ?? SERVER_SETTINGS.maxConcurrentStreams };
    this.unsubscribe = opts.certSource.onRotate((m) => this.onRotate(m));
  }

  /** Starts accepting on host:port (0 = any). Idempotent for an address already listened on. */
  async addListener(host: string, port: number): Promise<net.AddressInfo> {
    if (this.closing) throw new Error('HBONE server is closing');
    const existing = this.findListener(host, port);
    if (existing) return existing.address;
    const server = createTcpServer((socket) => this.onConnection(socket));
    const address = await listenTcp(server, host, port);
    server.on('error', (err) => this.report(err, `listener ${host}:${address.port}`));
    this.listeners.add({ server, requestedHost: host, address });
    return address;
  }

  /** Stops accepting on host:port. Connections already open there carry on. */
  async removeListener(host: string, port: number): Promise<void> {
    const l = this.findListener(host, port);
    if (!l) return;
    this.listeners.delete(l);
    // net.Server.close() stops accepting at once; its callback would wait for open connections.
    l.server.close();
  }

  /**
   * Loads `identity`'s certificate now rather than on its first connection (so a listener for a
   * new pod answers its first client without waiting for the CA). Resolves false if unavailable.
   */
  async prepare(identity: SpiffeUri): Promise<boolean> {
    return (this.tlsServers.get(identity) ?? (await this.tlsServerFor(identity))) !== undefined;
  }

  listening(): net.AddressInfo[] {
    return [...this.listeners].map((l) => l.address);
  }

  stats(): HboneServerStats {
    return {
      connections: this.sessions.size,
      connectionsTotal: this.connectionsTotal,
      streams: this.streams,
      refused: this.refused,
      accepted: this.accepted,
      overflow: this.overflow,
    };
  }

  /**
   * Drains: stops accepting, sends GOAWAY on every session so peers open no new streams, lets
   * in-flight streams finish until `deadlineMs` has passed, then destroys what is left.
   */
  async close(deadlineMs: number): Promise<void> {
    this.drain();
    this.unsubscribe();
    const closed = [...this.sessions].map((s) => sessionClosed(s));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([Promise.all(closed), expired]);
    clearTimeout(timer);
    for (const s of this.sessions) s.destroy();
    await Promise.all(closed);
  }

  /**
   * Starts draining without a deadline (admin `POST /drain_listeners`, or the first step of
   * `close`): listeners close, handshakes in progress are dropped, and every session gets
   * GOAWAY, so peers open no new streams here while open ones run to completion.
   */
  drain(): void {
    this.closing = true;
    for (const l of this.listeners) l.server.close();
    this.listeners.clear();
    for (const s of this.handshaking.values()) s.destroy();
    this.handshaking.clear();
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  /** True once `drain` or `close` has begun. */
  get draining(): boolean {
    return this.closing;
  }

  private findListener(host: string, port: number): Listener | undefined {
    for (const l of this.listeners) {
      if ((l.requestedHost === host || l.address.address === host) && l.address.port === port) return l;
    }
    return undefined;
  }

  private onConnection(socket: net.Socket): void {
    socket.on('error', ignore);
    if (this.closing) {
      socket.destroy();
      return;
    }
    // Checked before any TLS work, so a flood of connections costs an accept and a close each.
    if (this.accepted >= this.maxConnections) {
      this.overflow++;
      socket.destroy();
      return;
    }
    this.accepted++;
    socket.once('close', () => this.accepted--);
    const local = socket.localAddress === undefined ? undefined : unmapV4(socket.localAddress);
    const identity = local ? this.opts.identityFor(local) : undefined;
    if (!identity) {
      this.refused++;
      socket.destroy();
      return;
    }
    const ready = this.tlsServers.get(identity);
    if (ready) {
      this.startTls(ready, socket);
      return;
    }
    // First connection for this identity: fetch its certificate. Bytes the client sends meanwhile
    // stay buffered on the socket; TLSSocket replays them when it takes over.
    const key = tupleOf(socket);
    this.handshaking.set(key, socket);
    void this.tlsServerFor(identity).then((server) => {
      this.handshaking.delete(key);
      if (!server || this.closing || socket.destroyed) {
        socket.destroy();
        return;
      }
      this.startTls(server, socket);
    });
  }

  private startTls(server: tls.Server, socket: net.Socket): void {
    const key = tupleOf(socket);
    this.handshaking.set(key, socket);
    socket.once('close', () => {
      if (this.handshaking.get(key) === socket) this.handshaking.delete(key);
    });
    noHalfOpen(socket);
    server.emit('connection', socket);
  }

  private tlsServerFor(identity: SpiffeUri): Promise<tls.Server | undefined> {
    let p = this.tlsServersPending.get(identity);
    if (p) return p;
    p = this.opts.certSource
      .certificate(identity)
      .then((material) => {
        const existing = this.tlsServers.get(identity);
        if (existing) return existing;
        const server = this.createTlsServer(material);
        this.tlsServers.set(identity, server);
        return server;
      })
      .catch((err: unknown) => {
        this.report(err, `certificate for ${identity}`);
        return undefined;
      })
      .finally(() => this.tlsServersPending.delete(identity));
    this.tlsServersPending.set(identity, p);
    return p;
  }

  private secureOptions(material: TlsMaterial): tls.SecureContextOptions {
    return serverSecureOptions(material, this.opts.certSource.rootsPem());
  }

  private createTlsServer(material: TlsMaterial): tls.Server {
    const server = tls.createServer({
      ...this.secureOptions(material),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [ALPN_H2],
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket));
    // Bad certificates, no certificate, handshake timeouts: the socket is already being destroyed.
    server.on('tlsClientError', (_err, socket) => {
      this.refused++;
      socket.destroy();
    });
    return server;
  }

  private onRotate(material: TlsMaterial): void {
    const server = this.tlsServers.get(material.identity);
    if (server) server.setSecureContext(this.secureOptions(material));
  }

  private onSecure(socket: tls.TLSSocket): void {
    this.handshaking.delete(tupleOf(socket));
    if (this.closing) {
      socket.destroy();
      return;
    }
    const peerIdentity = socket.authorized ? peerIdentityInTrustDomain(socket.getPeerCertificate(), this.trustDomain) : undefined;
    if (socket.alpnProtocol !== ALPN_H2 || !peerIdentity) {
      this.refused++;
      socket.destroy();
      return;
    }
    const info: HboneConnectionInfo = {
      peerIdentity,
      peerAddress: unmapV4(socket.remoteAddress ?? ''),
      peerPort: socket.remotePort ?? 0,
      localAddress: unmapV4(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
    };
    const session = http2.performServerHandshake(socket, {
      settings: this.settings,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    this.sessions.add(session);
    this.connectionsTotal++;
    // Peer resets, GOAWAYs with an error and keepalive timeouts are routine: they end in 'close',
    // which fails the session's streams; nothing to report.
    session.on('error', ignore);
    session.on('frameError', ignore);
    session.once('close', () => this.sessions.delete(session));
    session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.onStream(stream, headers, info));
    try {
      // Raise the connection window: the initialWindowSize setting only covers streams.
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch (err) {
      this.report(err, 'setLocalWindowSize');
    }
    startKeepalive(session, this.opts.keepalive);
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, info: HboneConnectionInfo): void {
    hardenTunnelStream(stream);
    this.streams++;
    stream.once('close', () => this.streams--);
    if (headers[':method'] !== 'CONNECT') {
      answer(stream, 'HBONE_METHOD_NOT_CONNECT');
      return;
    }
    const authority = parseAuthority(headers[':authority']);
    if (!authority) {
      answer(stream, 'HBONE_BAD_AUTHORITY');
      return;
    }
    const connect = new ServerConnect(stream, authority, headers, info);
    try {
      this.opts.handler(connect);
    } catch (err) {
      // A throwing handler is a bug; reset the stream rather than leave the client hanging.
      this.report(err, `handler for ${authority.text}`);
      if (!stream.destroyed) stream.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private report(err: unknown, context: string): void {
    if (this.opts.onError) this.opts.onError(err, context);
    else console.error(`hbone server: ${context}:`, err);
  }
}

function sessionClosed(session: Http2Session): Promise<void> {
  if (session.destroyed) return Promise.resolve();
  return new Promise((resolve) => session.once('close', () => resolve()));
}

function tupleOf(s: net.Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

function ignore(): void {
  // Socket errors before TLS (resets, timeouts) end in 'close'; nothing else to do.
}

/** A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`; identities are keyed by the v4 form. */

