/** `istio.workload.GatewayAddress` and `NetworkAddress` (waypoints, network gateways, addresses). */
import type { XdsReader } from './xds-reader.js';

export interface WdsNetworkAddressDraft {
  readonly network: string;
  readonly ip: string;
  /** `optional uint32 length`: a prefix (a range of addresses) when set. */
  readonly length?: number;
}

export interface WdsGatewayAddressDraft {
  /** `hostname` form: the gateway's Service (`name.namespace.svc...`). */
  readonly hostname?: { readonly namespace: string; readonly hostname: string };
  /** `address` form: the gateway's IP. */
  readonly address?: string;
  /** The network of the `address` form. */
  readonly network?: string;
  readonly hbonePort: number;
}

/** Bytes arrive base64-encoded (decoded protobuf) and must be 4 or 16 long. */
export function ipFromBytes(r: XdsReader, b64: unknown): string {
  if (typeof b64 !== 'string') r.fail('must be bytes');
  const buf = Buffer.from(b64, 'base64');
  if (buf.length === 4) return [...buf].join('.');
  if (buf.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(buf.readUInt16BE(i).toString(16));
    return parts.join(':').replace(/\b(?:0:){2,}/, ':');
  }
  return r.fail(`an IP address is 4 or 16 bytes, got ${buf.length}`);
}

export function readNetworkAddressMessage(r: XdsReader): WdsNetworkAddressDraft {
  const ip = ipFromBytes(r.field('address'), r.field('address').value);
  const length = r.num('length');
  if (length !== undefined && (!Number.isInteger(length) || length < 0 || length > (ip.includes(':') ? 128 : 32))) r.fail(`prefix length ${length} does not fit ${ip}`, ['length']);
  return { network: r.str('network') ?? '', ip, ...(length !== undefined ? { length } : {}) };
}

export function readGatewayAddress(r: XdsReader): WdsGatewayAddressDraft {
  const hbonePort = r.num('hbone_mtls_port') || 15008;
  const h = r.optional('hostname');
  if (h) return { hostname: { namespace: h.requiredStr('namespace'), hostname: h.requiredStr('hostname') }, hbonePort };
  const a = r.optional('address');
  if (a) {
    const addr = readNetworkAddressMessage(a);
    return { address: addr.ip, ...(addr.network ? { network: addr.network } : {}), hbonePort };
  }
  return r.fail('a GatewayAddress needs a hostname or an address');
}
