/**
 * Field readers shared by the AuthorizationPolicy translators (L4 for ztunnel, L7 for the
 * waypoint): Istio's string matching, principals, service accounts, CIDRs and ports are read and
 * validated the same way whichever layer enforces them.
 */
import type { CidrIR, ServiceAccountMatchIR, StringMatchIR } from '../ir.js';
import { parseCidr } from '../../net/cidr.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { describeValue } from './object-reader.js';

/** Istio's policy string semantics: `*` any (present), `*x` suffix, `x*` prefix, else exact. */
export function istioStringMatch(v: string): StringMatchIR {
  if (v === '*') return { kind: 'presence' };
  if (v.startsWith('*')) return { kind: 'suffix', value: v.slice(1) };
  if (v.endsWith('*')) return { kind: 'prefix', value: v.slice(0, -1) };
  return { kind: 'exact', value: v };
}

export function readStringMatches(r: ObjectReader, path: FieldPath): StringMatchIR[] {
  return r.stringList(path).map(istioStringMatch);
}

export function readPrincipals(r: ObjectReader, path: FieldPath): StringMatchIR[] {
  return principalsOf(r, path, r.stringList(path));
}

/** Principals are written without `spiffe://`; one written with it can never match, so say so. */
export function principalsOf(r: ObjectReader, path: FieldPath, values: readonly string[]): StringMatchIR[] {
  values.forEach((v, i) => {
    if (v.startsWith('spiffe://')) {
      r.warn([...path, i], 'FIELD_INVALID', 'principals are written without "spiffe://" (e.g. cluster.local/ns/foo/sa/bar); this one never matches');
    }
  });
  return values.map(istioStringMatch);
}

/** `serviceAccounts: [ns/sa | sa]` → principal suffix matches `/ns/<ns>/sa/<sa>` (any trust domain). */
export function readServiceAccounts(r: ObjectReader, path: FieldPath, policyNs: string): StringMatchIR[] {
  return readServiceAccountMatches(r, path, policyNs).map((m) => ({ kind: 'suffix', value: `/ns/${m.namespace}/sa/${m.serviceAccount}` }));
}

/**
 * `serviceAccounts: [ns/sa | sa]` for L4: istio.security.ServiceAccountMatch values, as istiod
 * converts them for ztunnel (`stringToServiceAccountMatch`; the namespace defaults to the policy's).
 */
export function readServiceAccountMatches(r: ObjectReader, path: FieldPath, policyNs: string): ServiceAccountMatchIR[] {
  const out: ServiceAccountMatchIR[] = [];
  r.stringList(path).forEach((v, i) => {
    const parts = v.split('/');
    const [ns, sa] = parts.length === 2 ? parts : [policyNs, parts[0]];
    if (parts.length > 2 || !ns || !sa || v.includes('*')) {
      r.error([...path, i], 'FIELD_INVALID', `must be "<namespace>/<serviceaccount>" or "<serviceaccount>", got ${JSON.stringify(v)}`);
      return;
    }
    out.push({ namespace: ns, serviceAccount: sa });
  });
  return out;
}

export function readCidrs(r: ObjectReader, path: FieldPath): CidrIR[] {
  return cidrsOf(r, path, r.stringList(path));
}

export function cidrsOf(r: ObjectReader, path: FieldPath, values: readonly string[]): CidrIR[] {
  const out: CidrIR[] = [];
  values.forEach((v, i) => {
    const c = parseCidr(v);
    if (c) out.push(c);
    else r.error([...path, i], 'FIELD_INVALID', `${JSON.stringify(v)} is not an IP address or CIDR`);
  });
  return out;
}

/** Ports are strings in Istio's API; plain YAML integers are accepted too. */
export function readPorts(r: ObjectReader, path: FieldPath): number[] {
  return portsOf(r, path, r.list(path));
}

export function portsOf(r: ObjectReader, path: FieldPath, values: readonly unknown[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    const p = portOf(v);
    if (p === undefined) r.error([...path, i], 'FIELD_INVALID', `must be a port number 1..65535, got ${describeValue(v)}`);
    else out.push(p);
  });
  return out;
}

function portOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** strconv.ParseBool, which Istio uses for `istio.io/dry-run`. */
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The `istio.io/dry-run` annotation of a policy (evaluated and logged, never enforced). */
export function readDryRun(r: ObjectReader): boolean {
  const path = ['metadata', 'annotations', 'istio.io/dry-run'];
  const text = r.string(path);
  if (text === undefined) return false;
  if (TRUE_WORDS.has(text)) return true;
  if (!FALSE_WORDS.has(text)) r.error(path, 'FIELD_INVALID', `must be "true" or "false", got ${JSON.stringify(text)}`);
  return false;
}
