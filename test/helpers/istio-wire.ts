/**
 * Protobuf wire bytes written by hand from the field numbers Istio publishes (istio/ztunnel
 * proto/authorization.proto and proto/workload.proto at 62d826530e5ce85764e309170205b293efcbc80b),
 * so tests do not trust the project's own schema or encoder: if `proto/istio/**` declared a number
 * wrongly, the decoder would read these bytes wrongly and the tests would fail.
 *
 * A tiny writer (varint, tag, length-delimited) and the few messages the tests need; the numbers
 * are spelled out at each call, next to their names.
 */

/** Field number → wire bytes. Each helper returns one encoded field. */
export type WireField = Buffer;

export function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const tag = (field: number, wire: number): Buffer => varint(field * 8 + wire);

/** Wire type 0 (int32, uint32, bool, enum). */
export function vint(field: number, value: number): WireField {
  return Buffer.concat([tag(field, 0), varint(value)]);
}

/** Wire type 2 (string, bytes, message, packed repeated). */
export function len(field: number, body: Buffer | string | readonly Buffer[]): WireField {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : Buffer.concat(body);
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
}

/** Packed repeated varints (how proto3 encodes `repeated uint32`). */
export function packed(field: number, values: readonly number[]): WireField {
  return len(field, Buffer.concat(values.map(varint)));
}

export const msg = (...fields: readonly Buffer[]): Buffer => Buffer.concat(fields);

const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));

// istio.security.StringMatch: exact = 1, prefix = 2, suffix = 3, presence = 4 (google.protobuf.Empty).
export const exact = (v: string): Buffer => len(1, v);
export const prefix = (v: string): Buffer => len(2, v);
export const suffix = (v: string): Buffer => len(3, v);
export const presence = (): Buffer => len(4, Buffer.alloc(0));

// istio.security.Address: address = 1 (bytes), length = 2.
export const cidr = (ip: string, length: number): Buffer => msg(len(1, ipBytes(ip)), ...(length > 0 ? [vint(2, length)] : []));

// istio.security.ServiceAccountMatch: namespace = 1, serviceAccount = 2.
export const serviceAccount = (namespace: string, sa: string): Buffer => msg(len(1, namespace), len(2, sa));

/** istio.security.Match, every field by its published number. */
export interface MatchWire {
  namespaces?: Buffer[]; // 1
  notNamespaces?: Buffer[]; // 2
  principals?: Buffer[]; // 3
  notPrincipals?: Buffer[]; // 4
  sourceIps?: Buffer[]; // 5
  notSourceIps?: Buffer[]; // 6
  destinationIps?: Buffer[]; // 7
  notDestinationIps?: Buffer[]; // 8
  destinationPorts?: number[]; // 9 (packed)
  notDestinationPorts?: number[]; // 10 (packed)
  serviceAccounts?: Buffer[]; // 11
  notServiceAccounts?: Buffer[]; // 12
}

export function match(m: MatchWire): Buffer {
  const rep = (n: number, items: Buffer[] | undefined): Buffer[] => (items ?? []).map((i) => len(n, i));
  return msg(
    ...rep(1, m.namespaces),
    ...rep(2, m.notNamespaces),
    ...rep(3, m.principals),
    ...rep(4, m.notPrincipals),
    ...rep(5, m.sourceIps),
    ...rep(6, m.notSourceIps),
    ...rep(7, m.destinationIps),
    ...rep(8, m.notDestinationIps),
    ...(m.destinationPorts?.length ? [packed(9, m.destinationPorts)] : []),
    ...(m.notDestinationPorts?.length ? [packed(10, m.notDestinationPorts)] : []),
    ...rep(11, m.serviceAccounts),
    ...rep(12, m.notServiceAccounts),
  );
}

/** istio.security.Scope and Action values. */
export const SCOPE = { GLOBAL: 0, NAMESPACE: 1, WORKLOAD_SELECTOR: 2 } as const;
export const ACTION = { ALLOW: 0, DENY: 1 } as const;

export interface AuthorizationWire {
  name: string; // 1
  namespace: string; // 2
  scope: number; // 3
  action: number; // 4
  /** rules (5) → clauses (Rule.clauses = 1) → matches (Clause.matches = 2) as encoded Match. */
  rules: Buffer[][][];
  dryRun?: boolean; // 6
  /** Clause's matches under this field number instead of 2 (to reproduce the old, wrong schema). */
  matchesField?: number;
}

export function authorization(a: AuthorizationWire): Buffer {
  const matchesField = a.matchesField ?? 2;
  const rule = (clauses: Buffer[][]): Buffer => msg(...clauses.map((c) => len(1, msg(...c.map((m) => len(matchesField, m))))));
  return msg(
    len(1, a.name),
    len(2, a.namespace),
    ...(a.scope ? [vint(3, a.scope)] : []),
    ...(a.action ? [vint(4, a.action)] : []),
    ...a.rules.map((r) => len(5, rule(r))),
    ...(a.dryRun ? [vint(6, 1)] : []),
  );
}
