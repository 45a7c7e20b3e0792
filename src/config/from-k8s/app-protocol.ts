/**
 * Istio's protocol selection for a Service port (istio.io: ops/configuration/traffic-management/
 * protocol-selection; istio/istio pkg/config/kube/conversion.go `ConvertProtocol`):
 * - `appProtocol`, when set, replaces the port name entirely (no fallback to the name);
 * - a `grpc-web…` prefix is gRPC-Web (checked before the split, since it contains a dash);
 * - otherwise the part before the first `-` is parsed case-insensitively (`http`, `http-web`...);
 * - unknown → well-known server-first ports (SMTP 25, DNS 53, MySQL 3306, MongoDB 27017) are TCP so
 *   nothing waits to sniff them; anything else is `unknown` ("sniff").
 */
import type { AppProtocol } from '../ir.js';

/** Istio protocol names → the IR's coarser set (what the waypoint needs to pick a chain). */
const BY_NAME: ReadonlyMap<string, AppProtocol> = new Map<string, AppProtocol>([
  ['http', 'http'],
  ['http_proxy', 'http'],
  ['http2', 'http2'],
  ['grpc', 'grpc'],
  ['https', 'tls'],
  ['tls', 'tls'],
  ['tcp', 'tcp'],
  // Opaque/server-first protocols: Istio handles them as TCP.
  ['mongo', 'tcp'],
  ['mysql', 'tcp'],
  ['redis', 'tcp'],
]);

/** Kubernetes' standard appProtocol values (KEP-3726), only meaningful as appProtocol. */
const K8S_APP_PROTOCOLS: ReadonlyMap<string, AppProtocol> = new Map<string, AppProtocol>([
  ['kubernetes.io/h2c', 'http2'],
  ['kubernetes.io/ws', 'http'],
  ['kubernetes.io/wss', 'tls'],
]);

const WELL_KNOWN_TCP_PORTS: ReadonlySet<number> = new Set([25, 53, 3306, 27017]);

export function selectAppProtocol(appProtocol: string | undefined, portName: string | undefined, port: number): AppProtocol {
  if (appProtocol !== undefined) {
    const std = K8S_APP_PROTOCOLS.get(appProtocol);
    if (std) return std;
  }
  const name = (appProtocol ?? portName ?? '').toLowerCase();
  // gRPC-Web is HTTP/1.1 or HTTP/2 framed by the browser: an HTTP chain handles it.
  if (name.startsWith('grpc-web')) return 'http';
  const dash = name.indexOf('-');
  const prefix = dash < 0 ? name : name.slice(0, dash);
  const known = BY_NAME.get(prefix);
  if (known) return known;
  return WELL_KNOWN_TCP_PORTS.has(port) ? 'tcp' : 'unknown';
}
