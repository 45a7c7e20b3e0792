/**
 * The ztunnel's ports, in Istio's numbering (istio/ztunnel ARCHITECTURE.md §Ports). The per-pod
 * ones (HBONE, SOCKS5) are bound on each local pod's IP, mirroring ztunnel's in-pod mode where
 * the listeners live in the pod's network namespace.
 */
export { HBONE_PORT } from '../config/ir.js';

/** Outbound SOCKS5 (ztunnel: only with `UNSTABLE_ENABLE_SOCKS5`); here the local mesh's way in. */
export const SOCKS5_PORT = 15080;
/** Outbound capture (`SO_ORIGINAL_DST`), not used in the local mesh. */
export const OUTBOUND_CAPTURE_PORT = 15001;
/** Inbound plaintext capture. */
export const INBOUND_PLAINTEXT_PORT = 15006;
export const READINESS_PORT = 15021;
export const METRICS_PORT = 15020;
export const ADMIN_PORT = 15000;
