/**
 * HBONE's TLS profile, shared by server and client so the two cannot drift: TLS 1.3 only, mesh
 * roots as the only trust anchors, ALPN `h2`, no SNI, no half-open TCP under the TLS layer.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { TlsMaterial } from '../identity/tls-material.js';
import { ALPN_H2, TLS_VERSION } from './settings.js';

/** Certificate, key and trust anchors for a server SecureContext (also used on rotation). */
export function serverSecureOptions(material: TlsMaterial, rootsPem: readonly string[]): tls.SecureContextOptions {
  return {
    cert: material.certChainPem,
    key: material.keyPem,
    ca: [...rootsPem],
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
  };
}

/** Client options over an already connected TCP socket. */
export function clientTlsOptions(socket: net.Socket, source: TlsMaterial, rootsPem: readonly string[]): tls.ConnectionOptions {
  return {
    socket,
    cert: source.certChainPem,
    key: source.keyPem,
    ca: [...rootsPem],
    minVersion: TLS_VERSION,
    maxVersion: TLS_VERSION,
    ALPNProtocols: [ALPN_H2],
    rejectUnauthorized: true,
    // No `servername`: HBONE sends no SNI (IPs are illegal there; the server picks its
    // certificate by destination address). Host-name checks do not apply either: the identity is
    // the URI SAN, which the caller checks against the expected identities.
    checkServerIdentity: () => undefined,
  };
}

/**
 * HTTP/2 carries half-close per stream (END_STREAM); a TCP FIN under TLS means the connection is
 * over. TLSSocket copies `allowHalfOpen` from the socket it wraps, and our TCP sockets are made
 * half-open for plain byte tunnels: left on, a peer that closes right after the handshake (a
 * refused client certificate) would leave the session half-open and its streams hanging.
 * (`allowHalfOpen` is a writable property of net.Socket that @types/node declares only as an option.)
 */
export function noHalfOpen(socket: net.Socket): void {
  (socket as net.Socket & { allowHalfOpen: boolean }).allowHalfOpen = false;
}
