/**
 * `istio.security.Authorization` (L4 policy as istiod serves it to ztunnel) → an L4 policy draft.
 * `WORKLOAD_SELECTOR` policies apply to the workloads that list them in `authorization_policies`;
 * the IR selects by labels, so such workloads carry the label {@link policyLabel} (set by
 * `workload-config.ts`) and the policy selects it. `GLOBAL` and `NAMESPACE` keep the scope stated.
 *
 * Stricter than ztunnel where ztunnel would widen a policy: a StringMatch without a match type, an
 * address that is not 4 or 16 bytes, a prefix longer than the address, a port over 65535, an
 * unknown enum value or any field this schema lacks (`@unknown_fields`, see
 * `src/sources/proto-unknown-fields.ts`) rejects the resource; the caller then installs
 * {@link failClosedAuthorization} in its place.
 */
import { parseCidr } from '../../net/cidr.js';
import type { CidrIR, L4MatchIR, ServiceAccountMatchIR, StringMatchIR } from '../ir.js';
import type { PolicyDraft } from '../from-k8s/translator.js';
import { ipFromBytes } from './wds-address.js';
import type { XdsReader } from './xds-reader.js';

/** The label that marks a workload as selected by an Authorization named `namespace/name`. */
export function policyLabel(key: string): string {
  return `wds.authorization/${key}`;
}

const UNKNOWN_FIELDS_KEY = '@unknown_fields';
const SCOPES = ['GLOBAL', 'NAMESPACE', 'WORKLOAD_SELECTOR'] as const;
type Scope = (typeof SCOPES)[number];

export function translateWdsAuthorization(r: XdsReader, source: string): PolicyDraft {
  if (r.has(UNKNOWN_FIELDS_KEY)) {
    const unknown = r.list(UNKNOWN_FIELDS_KEY).map((u) => String(u.value));
    r.fail(`fields this schema does not know (a policy is never enforced partially): ${unknown.join(', ')}`);
  }
  const name = r.requiredStr('name');
  const namespace = r.requiredStr('namespace');
  const scope = enumValue(r, 'scope', SCOPES, 'GLOBAL');
  const action = enumValue(r, 'action', ['ALLOW', 'DENY'] as const, 'ALLOW');
  const rules = r.list('rules').map((rule) => rule.list('clauses').map((clause) => clause.list('matches').map(readMatch)));
  return {
    name,
    namespace,
    ...scoped(scope, `${namespace}/${name}`),
    action,
    rules,
    dryRun: r.bool('dry_run') ?? false,
    origin: { source: `${source}#Authorization/${namespace}/${name}` },
  };
}

/**
 * What stands in for an Authorization that cannot be decoded: an ALLOW that matches nothing (the
 * workloads it covers then admit only what another ALLOW admits), or a DENY that matches
 * everything when the action is DENY or unreadable. Its reach is the scope it states, else its
 * namespace; its name and namespace come from the resource, else from the xDS resource name
 * (`namespace/name`). Never dropped, never "allow all".
 */
export function failClosedAuthorization(value: unknown, resourceName: string, source: string): PolicyDraft {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const text = (k: string): string | undefined => (typeof v[k] === 'string' && v[k] !== '' ? v[k] : undefined);
  const slash = resourceName.indexOf('/');
  const name = text('name') ?? (slash >= 0 ? resourceName.slice(slash + 1) : resourceName);
  const namespace = text('namespace') ?? (slash >= 0 ? resourceName.slice(0, slash) : '');
  const stated = text('scope') ?? (v['scope'] === undefined ? 'GLOBAL' : undefined);
  const scope: Scope = SCOPES.find((s) => s === stated) ?? 'NAMESPACE';
  const allow = v['action'] === undefined || v['action'] === 'ALLOW';
  return {
    name,
    namespace,
    // Without a namespace there is nothing narrower to fall back to.
    ...scoped(namespace === '' ? 'GLOBAL' : scope, `${namespace}/${name}`),
    action: allow ? 'ALLOW' : 'DENY',
    // No rule never matches; one rule without clauses always matches.
    rules: allow ? [] : [[]],
    dryRun: v['dry_run'] === true,
    origin: { source: `${source}#Authorization/${namespace}/${name} (undecodable: enforced fail-closed)` },
  };
}

function scoped(scope: Scope, key: string): Pick<PolicyDraft, 'selector' | 'unselectedScope'> {
  if (scope === 'WORKLOAD_SELECTOR') return { selector: { [policyLabel(key)]: 'true' } };
  return { selector: undefined, unselectedScope: scope === 'GLOBAL' ? 'global' : 'namespace' };
}

/** An enum field by name; proto3 leaves the zero value out. An unknown number rejects. */
function enumValue<T extends string>(r: XdsReader, key: string, known: readonly T[], zero: T): T {
  const v = r.field(key).value;
  if (v === undefined || v === null) return zero;
  const found = known.find((k) => k === v);
  return found ?? r.fail(`unknown ${key} ${JSON.stringify(v)}`, [key]);
}

function readMatch(r: XdsReader): L4MatchIR {
  const strings = (k: string): StringMatchIR[] => r.list(k).map(readStringMatch);
  const accounts = (k: string): ServiceAccountMatchIR[] => r.list(k).map(readServiceAccount);
  const cidrs = (k: string): CidrIR[] => r.list(k).map(readCidr);
  const ports = (k: string): number[] =>
    r.list(k).map((p) => (typeof p.value === 'number' && Number.isInteger(p.value) && p.value >= 0 && p.value <= 65535 ? p.value : p.fail('must be a port in [0, 65535]')));
  return {
    namespaces: strings('namespaces'),
    notNamespaces: strings('not_namespaces'),
    serviceAccounts: accounts('service_accounts'),
    notServiceAccounts: accounts('not_service_accounts'),
    principals: strings('principals'),
    notPrincipals: strings('not_principals'),
    sourceIps: cidrs('source_ips'),
    notSourceIps: cidrs('not_source_ips'),
    destinationIps: cidrs('destination_ips'),
    notDestinationIps: cidrs('not_destination_ips'),
    destinationPorts: ports('destination_ports'),
    notDestinationPorts: ports('not_destination_ports'),
  };
}

/** Both parts compared exactly; empty strings are kept as sent (they match no real identity). */
function readServiceAccount(r: XdsReader): ServiceAccountMatchIR {
  return { namespace: r.str('namespace') ?? '', serviceAccount: r.str('serviceAccount') ?? '' };
}

function readStringMatch(r: XdsReader): StringMatchIR {
  const exact = r.str('exact');
  if (exact !== undefined) return { kind: 'exact', value: exact };
  const prefix = r.str('prefix');
  if (prefix !== undefined) return { kind: 'prefix', value: prefix };
  const suffix = r.str('suffix');
  if (suffix !== undefined) return { kind: 'suffix', value: suffix };
  if (r.has('presence')) return { kind: 'presence' };
  return r.fail('a StringMatch needs exact, prefix, suffix or presence');
}

/** `length` is proto3: absent means 0 (every address), as ztunnel reads it; never the full length. */
function readCidr(r: XdsReader): CidrIR {
  const ip = ipFromBytes(r.field('address'), r.field('address').value);
  const length = r.num('length') ?? 0;
  return parseCidr(`${ip}/${length}`) ?? r.fail(`${ip}/${length} is not a CIDR`, ['length']);
}
