import type { SpiffeUri } from '../config/ir.js';

/** A leaf certificate with its key, as PEM, for one SPIFFE identity. */
export interface TlsMaterial {
  readonly identity: SpiffeUri;
  /** Leaf first, then intermediates (not the root). */
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Where certificates come from: the local CA, PEM files, or (later) Istio's CA over gRPC.
 * Servers and clients ask it per identity; it keeps each certificate fresh and tells subscribers
 * when one is replaced, so listeners can swap their TLS context without dropping connections.
 */
export interface CertSource {
  readonly trustDomain: string;
  /** PEM root certificates every mesh peer must chain to. */
  rootsPem(): readonly string[];
  /** The current certificate for `identity`, issued or loaded on first use, then cached. */
  certificate(identity: SpiffeUri): Promise<TlsMaterial>;
  /** Called after a certificate was replaced (rotation before expiry). */
  onRotate(listener: (material: TlsMaterial) => void): () => void;
  /** Stops rotation timers. */
  close(): void;
}
