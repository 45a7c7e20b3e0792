import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http2';
import type { SpiffeUri } from '../config/ir.js';
import type { FailureCode } from '../failures.js';
import type { TlsMaterial } from '../identity/tls-material.js';

/** A parsed CONNECT `:authority`: `ip:port`, `[v6]:port` or `host:port`. */
export interface HboneAuthority {
  /** IP address (v4 or v6, without brackets) or host name. */
  readonly host: string;
  readonly port: number;
  readonly isIp: boolean;
  /** As it appeared on the wire. */
  readonly text: string;
}

/** The peer and local ends of an HBONE connection, as seen by the server. */
export interface HboneConnectionInfo {
  /** SPIFFE URI from the peer certificate's URI SAN (verified chain, trust domain checked). */
  readonly peerIdentity: SpiffeUri;
  readonly peerAddress: string;
  readonly peerPort: number;
  /** The address the connection arrived at (picks the server certificate). */
  readonly localAddress: string;
  readonly localPort: number;
}

/**
 * One CONNECT stream, handed to the server's handler before anything is answered.
 * The handler must call exactly one of `accept` or `reject`.
 */
export interface HboneConnect {
  readonly authority: HboneAuthority;
  readonly headers: IncomingHttpHeaders;
  readonly connection: HboneConnectionInfo;
  /**
   * Answers 200 and returns the tunnel as a duplex byte stream (half-close carried both ways:
   * `end()` sends END_STREAM, the peer's END_STREAM ends the readable side).
   */
  accept(responseHeaders?: Readonly<Record<string, string>>): Duplex;
  /** Answers with the failure's status (400/401/503) and ends the stream. */
  reject(code: FailureCode): void;
  /** True once the peer reset the stream or the connection closed. */
  readonly closed: boolean;
}

export type HboneHandler = (connect: HboneConnect) => void;

/** What the HBONE client needs to open one tunnel. */
export interface HboneDial {
  /** The client certificate (the source workload's, or the waypoint's own). */
  readonly source: TlsMaterial;
  /** The server must present exactly one of these URI SANs. */
  readonly expectedIdentities: readonly SpiffeUri[];
  /** Where to connect: the peer's HBONE address and port (usually `ip:15008`). */
  readonly address: string;
  readonly port: number;
  /** Source address to bind (ztunnel keeps the client pod's IP; the waypoint uses its own). */
  readonly localAddress?: string;
  /** The CONNECT `:authority`. */
  readonly authority: string;
  /** Extra request headers: `forwarded`, `baggage`, `traceparent`. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type HboneDialResult =
  | { readonly ok: true; readonly stream: Duplex; readonly responseHeaders: IncomingHttpHeaders }
  | { readonly ok: false; readonly code: FailureCode; readonly status?: number; readonly message: string };
