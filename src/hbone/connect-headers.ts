/**
 * The extra request headers ztunnel puts on every CONNECT (reference §1.3): `forwarded` (original
 * source, and the intended Service host), `baggage` (source workload metadata) and `traceparent`
 * (traces the connection, not user requests).
 */
const { randomBytes } = process.getBuiltinModule('node:crypto');
import { formatAuthority } from './authority.js';

/** `for="<ip:port>"` (IPv6 bracketed) and `;host=<hostname>` when the destination Service is known. */
export function forwardedHeader(srcIp: string, srcPort: number, host?: string): string {
  const addr = formatAuthority(srcIp, srcPort);
  return host ? `for="${addr}";host=${host}` : `for="${addr}"`;
}

/**
 * The `host=` parameter of a `forwarded` header, the only part ztunnel's inbound reads
 * (`parse_forwarded_host`). Looks at every element and pair; quotes are removed.
 */
export function forwardedHost(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim().toLowerCase() !== 'host') continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

/** A fresh W3C trace context: `00-<32 hex trace id>-<16 hex parent id>-01` (sampled). */
export function newTraceparent(): string {
  const bytes = randomBytes(24);
  // All-zero ids are invalid (W3C trace-context §3.2.2); force one bit rather than loop.
  bytes[15] = (bytes[15] ?? 0) | 0x01;
  bytes[23] = (bytes[23] ?? 0) | 0x01;
  const hex = bytes.toString('hex');
  return `00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-01`;
}

export type WorkloadType = 'deployment' | 'cronjob' | 'pod' | 'job';

export interface BaggageFields {
  readonly cluster?: string;
  readonly namespace?: string;
  readonly workloadType?: WorkloadType;
  readonly workloadName?: string;
  /** Canonical service name. */
  readonly service?: string;
  /** Canonical revision. */
  readonly version?: string;
  readonly region?: string;
  readonly zone?: string;
}

/**
 * ztunnel's baggage: `k8s.cluster.name=…,k8s.namespace.name=…,k8s.<type>.name=…,service.name=…,
 * service.version=…,cloud.region=…,cloud.availability_zone=…`, keys omitted when empty.
 * Values are percent-encoded where W3C baggage does not allow the character.
 */
export function baggageHeader(f: BaggageFields): string {
  const parts: string[] = [];
  const add = (key: string, value: string | undefined): void => {
    if (value) parts.push(`${key}=${encodeBaggageValue(value)}`);
  };
  add('k8s.cluster.name', f.cluster);
  add('k8s.namespace.name', f.namespace);
  if (f.workloadType) add(`k8s.${f.workloadType}.name`, f.workloadName);
  add('service.name', f.service);
  add('service.version', f.version);
  add('cloud.region', f.region);
  add('cloud.availability_zone', f.zone);
  return parts.join(',');
}

/** W3C baggage-octet: printable ASCII except space, `"`, `,`, `;` and `\`; `%` escaped too. */
function encodeBaggageValue(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x2c || c === 0x3b || c === 0x5c || c === 0x25) {
      plain = false;
      break;
    }
  }
  return plain ? value : encodeURIComponent(value);
}
